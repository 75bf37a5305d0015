"""The Solara app behind ``hourglass explore``: two designs side by side, over many seeds.

Run it with ``hourglass explore``. The user starts from a library scenario (or a scenario file
uploaded through the page, a ``hourglass design`` result included), moves levers, the
facilitator's choices and the tool mix, and sees at once what is known about the change: both
designs run at the same seeds, the hourglass and organisations changed as medians with 10-90 %
bands, and the paired difference with its 95 % interval (:mod:`hourglass.explorer.runs`). A
second tab shows one run month by month, as the anecdote it is.

Every browser tab is its own Solara session: all state lives in :func:`Page`'s
``use_reactive`` hooks and its task, none in module globals, so two people never share a design,
and a closed tab leaves nothing behind. What the page lets in: scenario names from the library
(checked on the server, whatever the browser sends) and uploaded files that the scenario loader
accepts; the websocket only from the page's own origin (:mod:`hourglass.explorer.server`).
"""

# ruff: noqa: N802 -- Solara components are named in PascalCase, like React components.

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html import escape
from typing import Any

import solara
from solara import ResultState

from hourglass.explorer import figures
from hourglass.explorer.components import ComparisonStatus, Inputs, OneRun
from hourglass.explorer.runs import (
    MAX_SEEDS,
    Runs,
    design_toml,
    library_scenario,
    paired_difference,
    results_csv,
    run_design,
    uploaded_scenario,
)
from simulation import Scenario, available_scenarios
from simulation.errors import HourglassError

RUNNING = (ResultState.INITIAL, ResultState.STARTING, ResultState.WAITING, ResultState.RUNNING)
DEFAULT_SCENARIO = "baseline"
DEFAULT_SEEDS = 40
PREVIEW = 10
"""Seeds of the first answer after a change; the rest follow."""
STATUS_QUO = "the scenario you started from"
"""The default design to compare with: the starting scenario, unchanged."""
UPLOADED = " (uploaded)"
STYLE = """
.hourglass-input-label { display: flex; justify-content: space-between; font-size: 0.85rem;
  margin-top: 6px; line-height: 1.2; }
.hourglass-input-label span { overflow-wrap: anywhere; padding-right: 8px; }
.hourglass-slider { margin-top: 0; padding-top: 0; }
.hourglass-table td, .hourglass-table th { padding: 2px 10px; text-align: left; }
.hourglass-error { color: #b00020; }
"""


def choose(name: str, uploaded: dict[str, Scenario]) -> Scenario:
    """The scenario a picker named: a library name or this session's upload, nothing else.

    Whatever the browser sends (a replayed websocket message with a file path included) goes
    through here on the server.

    Raises:
        HourglassError: If ``name`` is neither.
    """
    if isinstance(name, str) and name in uploaded:
        return uploaded[name]
    return library_scenario(name)


def compare(
    design: Scenario,
    against: Scenario,
    seeds: int,
    cache: dict[tuple, Runs],
    keep_going: Callable[[], bool] = lambda: True,
) -> Iterator[dict[str, Any]]:
    """Run both designs at seeds 1..``seeds``, reusing this session's cached runs.

    A first answer comes after :data:`PREVIEW` seeds (a lever moved shows its effect within a
    second), the full one after all seeds; a design already run at every seed is not re-run.

    Yields:
        The runs so far, their paired-difference table, the seconds the runs took, and whether
        more seeds are coming. Stops early, without a last answer, when ``keep_going`` says so.
    """
    started = time.perf_counter()
    keys = [
        (tuple(sorted((k, repr(v)) for k, v in s.values.items())), seeds) for s in (design, against)
    ]
    have: list[Runs | None] = [cache.get(key) for key in keys]
    steps = [seeds] if all(have) or seeds <= PREVIEW else [PREVIEW, seeds]
    for n in steps:
        for i, scenario in enumerate((design, against)):
            done = 0 if have[i] is None else len(have[i].seeds)
            if done >= n:
                continue
            more = run_design(scenario, range(done + 1, n + 1), keep_going)
            if more is None:
                return
            have[i] = more if have[i] is None else have[i].then(more)
        runs = [r.head(n) for r in have]
        yield {
            "design": runs[0],
            "against": runs[1],
            "table": paired_difference(runs[0], runs[1]),
            "seconds": time.perf_counter() - started,
            "coming": seeds - n,
        }
    for key, runs in zip(keys, have, strict=True):
        if key not in cache:
            while len(cache) >= 4:  # a few designs back and forth, not a growing history
                cache.pop(next(iter(cache)))
            cache[key] = runs


@dataclass(frozen=True)
class Session:
    """One browser tab's state: Solara reactive values created in its own render.

    Attributes:
        start: Name of the scenario the design starts from (library or uploaded).
        uploaded: This tab's uploaded scenarios, by name.
        overrides: The keys the user changed, with their values.
        against: What the design is compared with: :data:`STATUS_QUO` or a library name.
        seeds: Seeds per design.
        problem: The last refused input, in one line (empty if none).
        generation: Bumped to remount the inputs at a design's values.
    """

    start: solara.Reactive[str]
    uploaded: solara.Reactive[dict[str, Scenario]]
    overrides: solara.Reactive[dict[str, Any]]
    against: solara.Reactive[str]
    seeds: solara.Reactive[int]
    problem: solara.Reactive[str]
    generation: solara.Reactive[int]

    @classmethod
    def use(cls) -> Session:
        """Create (on a tab's first render) or find (later) the tab's state."""
        return cls(
            start=solara.use_reactive(DEFAULT_SCENARIO),
            uploaded=solara.use_reactive({}),
            overrides=solara.use_reactive({}),
            against=solara.use_reactive(STATUS_QUO),
            seeds=solara.use_reactive(DEFAULT_SEEDS),
            problem=solara.use_reactive(""),
            generation=solara.use_reactive(0),
        )

    def base(self) -> Scenario:
        """The scenario the design starts from."""
        return choose(self.start.value, self.uploaded.value)

    def remount(self) -> None:
        """Show the inputs and pickers again at the state's values."""
        self.generation.set(self.generation.value + 1)

    def refuse(self, error: HourglassError) -> bool:
        """Show why an input was refused and put the inputs back; ``False`` for chaining."""
        self.problem.set(str(error))
        self.remount()
        return False

    def pick_start(self, name: str) -> None:
        """Start again from a library scenario or an upload, checked on the server."""
        try:
            choose(name, self.uploaded.value)
        except HourglassError as error:
            self.refuse(error)
            return
        self.problem.set("")
        self.start.set(name)
        self.overrides.set({})
        self.remount()

    def pick_against(self, name: str) -> None:
        """Compare with the starting scenario, a library scenario or an upload (server-checked)."""
        if name != STATUS_QUO:
            try:
                choose(name, self.uploaded.value)
            except HourglassError as error:
                self.refuse(error)
                return
        self.problem.set("")
        self.against.set(name)

    def change(self, name: str, value: Any) -> None:
        """Set one key of the design (refused in one line if the scenario does not allow it)."""
        base = self.base()
        try:
            base.with_overrides({name: value}, where="explorer")
        except HourglassError as error:
            self.refuse(error)
            return
        self.problem.set("")
        new = {k: v for k, v in self.overrides.value.items() if k != name}
        if value != base[name]:
            new[name] = value
        self.overrides.set(new)

    def upload(self, file: dict) -> None:
        """Start from an uploaded scenario file, if the scenario loader accepts it."""
        try:
            scenario = uploaded_scenario(str(file.get("name", "")), file.get("data") or b"")
        except HourglassError as error:
            self.refuse(error)
            return
        name = scenario.name + UPLOADED
        self.uploaded.set({**self.uploaded.value, name: scenario})
        self.problem.set("")
        self.start.set(name)
        self.overrides.set({})
        self.remount()

    def reset(self) -> None:
        """Start over: the starting scenario's values, nothing changed."""
        self.overrides.set({})
        self.problem.set("")
        self.remount()

    def set_seeds(self, value: int) -> None:
        """Seeds per design, within [10, MAX_SEEDS]."""
        self.seeds.set(max(10, min(MAX_SEEDS, int(value))))


@solara.component
def Controls(
    session: Session, design: Scenario, result: dict[str, Any] | None, names: tuple[str, str]
) -> None:
    """The sidebar: the design, what it is compared with, and the downloads."""
    generation = session.generation.value
    with solara.Card("Your design", margin=0):
        solara.Select(
            "start from",
            values=available_scenarios() + list(session.uploaded.value),
            value=session.start.value,
            on_value=session.pick_start,
        ).key(f"start-{generation}")
        if design.description:  # plain text: solara.Markdown would fetch KaTeX from a CDN
            solara.Text(design.description, style={"font-size": "0.8rem"})
        solara.FileDrop(
            label="Or drop a scenario file (.toml) here", on_file=session.upload, lazy=False
        )
        solara.Button("Start over (Reset)", on_click=session.reset, outlined=True, small=True)
        with solara.Div().key(f"inputs-{generation}"):
            Inputs(design, session.change)
    with solara.Card("Compared with", margin=0):
        solara.Select(
            "the other design",
            values=[STATUS_QUO, *available_scenarios(), *session.uploaded.value],
            value=session.against.value,
            on_value=session.pick_against,
        ).key(f"against-{generation}")
        solara.SliderInt(
            f"seeds per design: {session.seeds.value}",
            value=session.seeds.value,
            min=10,
            max=MAX_SEEDS,
            step=10,
            on_value=session.set_seeds,
        )
    with solara.Card("Download", margin=0):
        solara.FileDownload(
            lambda: design_toml(design, session.overrides.value, session.start.value),
            filename=f"{design.name}-explorer.toml",
            label="Your design (scenario TOML)",
        )
        if result is not None:
            solara.FileDownload(
                lambda: results_csv(result["design"], result["against"], names),
                filename="explorer-results.csv",
                label="Results of every run (CSV)",
            )


@solara.component
def Page() -> None:
    """The explorer page, one per browser tab."""
    session = Session.use()
    cache = solara.use_memo(dict, [])
    updates = solara.use_ref(0)
    base = session.base()
    overrides = session.overrides.value
    design = base.with_overrides(overrides, where="explorer")
    against_name, seeds = session.against.value, session.seeds.value
    against = base if against_name == STATUS_QUO else choose(against_name, session.uploaded.value)
    names = ("Your design", f"{against_name.replace(STATUS_QUO, session.start.value)} as it is")

    def work(cancel: threading.Event) -> Iterator[dict[str, Any]]:
        for out in compare(design, against, seeds, cache, lambda: not cancel.is_set()):
            started = time.perf_counter()
            n = len(out["design"].seeds)
            out["comparison_png"] = figures.png(figures.comparison_figure(out["table"], names, n))
            out["course_png"] = figures.png(
                figures.course_bands_figure(out["design"], out["against"], names)
            )
            out["drawn"] = time.perf_counter() - started
            updates.current += 1
            out["update"] = updates.current
            yield out

    # solara.use_thread, not solara.lab.use_task: each use_task registers a kernel-start callback
    # in a global list that is never emptied, so every closed tab's task, its runs and figures
    # stayed in memory (about 10 MB a tab; benchmarks/explorer.py, docs/explorer.md).
    task = solara.use_thread(
        work,
        dependencies=[
            session.start.value,
            tuple(sorted(overrides.items())),
            against_name,
            seeds,
            len(session.uploaded.value),
        ],
        intrusive_cancel=False,  # a trace function in the thread would slow every run
    )
    result = task.value
    if task.error is not None:
        raise task.error

    solara.Title("Hourglass explorer")
    solara.Style(STYLE)
    with solara.Sidebar():
        Controls(session, design, result, names)
    if session.problem.value:
        solara.HTML(
            tag="p", unsafe_innerHTML=escape(session.problem.value), classes=["hourglass-error"]
        )
    solara.ProgressLinear(task.state in RUNNING)
    with solara.lab.Tabs(lazy=True):
        with solara.lab.Tab("Compare two designs"):
            if result is not None:
                ComparisonStatus(
                    result["table"],
                    names,
                    (len(result["design"].seeds), result["coming"]),
                    overrides,
                    (result["seconds"], result["drawn"]),
                    result["update"],
                )
                solara.Image(result["comparison_png"], classes=["hourglass-comparison"])
                solara.Image(result["course_png"], classes=["hourglass-course"])
            else:
                solara.Text(f"Running both designs at {seeds} seeds ...")
        with solara.lab.Tab("One run, month by month"):
            OneRun(design, design_key=repr(sorted(overrides.items())) + session.start.value)
