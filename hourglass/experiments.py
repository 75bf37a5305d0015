"""The report's experiments, run on the model (report, "Learning from experiments").

Three experiments, each a function returning tables and a figure:

* :func:`contact_intensity`: six participants "report on how many others in the 6 they had had
  contact with and the degree to which it was informal vs. structured", twice a week for three
  months; the facilitator's 6x6 "contact heat map".
* :func:`personal_learning`: participants with regular contact answer weekly "if they had had a
  productive conversation about a reform challenge in the last week"; the "personal learning
  heat map".
* :func:`natural`: officials "central to recent reviews" compared with "other colleagues with
  similar responsibilities who were not involved".

Time resolution. The model's step is a month, so it knows, for each tie and month, whether the
pair had formal contact (a tool brought them together), informal contact (self-initiated or
contract contact), or both, and, for each peer, whether a conversation that month moved its
exposure (a successful transfer). It does not know how many times or in which week. The
experiments therefore place each monthly contact (and each productive month) in one report period
drawn uniformly from that month's periods, with the experiment's own seeded generator: a pair in
contact in a month shows up in exactly one of its twice-weekly reports. Weekly or half-weekly
cells are thus a monthly signal spread over the month, not finer information; the month totals
(``*_by_month.csv``) are what the model resolves.

Instrumentation (:class:`InstrumentedModel`) reads the model's observation seam: each month the
model publishes a :class:`~simulation.mechanisms.evaluation.MonthRecord` (formal and informal
contacts, the peers whose exposure a conversation raised, the tools each official took part in,
who is in post) to its ``month_observers``; nothing of the model is patched, and the results are
those of the plain model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
import numpy as np
import pandas as pd

from analysis.plots import save
from analysis.seeds import experiment_seeds, experiment_stream
from hourglass.figures import contact_figure, learning_figure, natural_figure
from simulation import PeerLearningModel, Scenario
from simulation.errors import HourglassError
from simulation.mechanisms.evaluation import MonthRecord

EXPERIMENTS = ("contact-intensity", "personal-learning", "natural")
REPORTS_PER_WEEK = 2
WEEKS = 13  # three months
PARTICIPANTS = 6


class InstrumentedModel(PeerLearningModel):
    """:class:`PeerLearningModel` that records contacts, conversations and tools each month.

    The results are bit-identical to the plain model's for the same scenario and seed; the
    records are in :attr:`records` and, per position, :attr:`tools_used` (bit mask over the tool
    table of the tools the official now in post attended), :attr:`first_month` and
    :attr:`last_month` of the official's contact or attendance (-1: none yet), and
    :attr:`learned_from_peer` (a productive conversation with a peer raised the official's
    exposure: with practical learning, who counts as a peer learner, hourglass/counts.py).
    """

    def __init__(self, scenario: Scenario | None = None, *, rng: int | None = None) -> None:
        super().__init__(scenario, rng=rng)
        n = self.state.peers.n
        self.records: list[MonthRecord] = []
        self.tools_used = np.zeros(n, dtype=np.int64)
        self.first_month = np.full(n, -1)
        self.last_month = np.full(n, -1)
        self.learned_from_peer = np.zeros(n, dtype=bool)
        self._person = self.state.peers.person.copy()
        self.month_observers.append(self._record)

    def _record(self, record: MonthRecord) -> None:
        """Keep the month's record and each official's tools and first and last active month."""
        replaced = record.person != self._person  # a successor starts with nothing recorded
        self._person = record.person
        self.tools_used[replaced] = 0
        self.first_month[replaced] = -1
        self.last_month[replaced] = -1
        self.learned_from_peer[replaced] = False
        self.tools_used |= record.tools
        self.learned_from_peer |= record.productive
        active = record.formal.any(axis=1) | record.informal.any(axis=1) | record.attended
        self.first_month[active & (self.first_month < 0)] = record.month
        self.last_month[active] = record.month
        self.records.append(record)

    def tools_count(self) -> np.ndarray:
        """(N,) number of distinct tools the official in each position attended."""
        return np.array([bin(int(mask)).count("1") for mask in self.tools_used])

    def engagement_months(self) -> np.ndarray:
        """(N,) months from the official's first to last contact or attendance (0: never)."""
        return np.where(self.first_month < 0, 0, self.last_month - self.first_month + 1)


def _periods(n_periods: int, months: int) -> list[np.ndarray]:
    """Split ``n_periods`` report periods over ``months`` months, in order, as evenly as can be."""
    edges = np.round(np.linspace(0, n_periods, months + 1)).astype(int)
    return [np.arange(edges[m], edges[m + 1]) for m in range(months)]


def _check(scenario: Scenario, start: int, months: int) -> None:
    if start < 0:
        raise HourglassError(f"experiment: --start must be >= 0, got {start}")
    if start + months > scenario["run.months"]:
        raise HourglassError(
            f"experiment: --start {start} + {months} observed months exceeds run.months = "
            f"{scenario['run.months']} of scenario '{scenario.name}'"
        )


def _bar(name: str, total: int, progress: bool | None, unit: str = "month") -> Any:
    """The engine's progress bar (time left) over an experiment's months or runs."""
    from analysis.executors import progress_bar  # noqa: PLC0415 - tqdm only when running

    return progress_bar(total, desc=f"experiment {name}", progress=progress, unit=unit)


def _warm_up(scenario: Scenario, seed: int, start: int, bar: Any) -> InstrumentedModel:
    model = InstrumentedModel(scenario, rng=seed)
    for _ in range(start):
        model.step()
        bar.update()
    return model


def choose_six(model: PeerLearningModel, size: int = PARTICIPANTS) -> np.ndarray:
    """The ``size`` engaged officials the facilitator "hope[s] will be learning from each other".

    Greedy: start from the live tie of highest trust, then add the engaged official with most
    live ties into the group (ties broken by the trust of those ties, then by position).

    Raises:
        HourglassError: Fewer than ``size`` officials are engaged.
    """
    peers, ties = model.state.peers, model.state.ties
    engaged = np.flatnonzero(peers.engaged)
    if len(engaged) < size:
        raise HourglassError(
            f"experiment: only {len(engaged)} officials engaged so far, {size} needed; "
            "start later (--start) or choose a livelier scenario"
        )
    trust = np.where(ties.alive, ties.trust, 0.0)[np.ix_(engaged, engaged)]
    first = np.unravel_index(int(np.argmax(trust)), trust.shape)
    group = [int(first[0])] if trust.max() > 0 else [0]
    if trust.max() > 0:
        group.append(int(first[1]))
    alive = ties.alive[np.ix_(engaged, engaged)]
    while len(group) < size:
        score = alive[:, group].sum(axis=1) + 1e-3 * trust[:, group].sum(axis=1)
        score[group] = -np.inf
        group.append(int(np.argmax(score)))
    return engaged[np.array(group)]


def contact_intensity(
    scenario: Scenario, seed: int = 1, start: int = 12, months: int = 3,
    progress: bool | None = False,
) -> dict[str, Any]:
    """The contact-intensity experiment: six participants, twice-weekly reports for three months.

    The scenario runs ``start`` months (the initiative is established), six participants are
    chosen (:func:`choose_six`), and the next ``months`` months are observed. Each monthly formal
    and informal contact of a pair is placed in one of that month's half-week reports.

    Args:
        scenario: The scenario.
        seed: Seed of the model run; the report placement uses a stream derived from it.
        start: Months before observation starts.
        months: Months observed (three in the report).
        progress: Show the months run with the time left (``None``: if stderr is a terminal).

    Returns:
        ``reports`` (one row per report and pair), ``matrix`` (6x6 counts of reports with formal
        and with informal contact), ``by_month`` (what the model resolves), ``per_report`` (how
        many of the other five each participant contacted in each report), ``participants``.
    """
    _check(scenario, start, months)
    with _bar("contact-intensity", start + months, progress) as bar:
        model = _warm_up(scenario, seed, start, bar)
        six = choose_six(model)
        for _ in range(months):
            model.step()
            bar.update()
    observed = model.records[start : start + months]
    n_reports = round(WEEKS * months / 3) * REPORTS_PER_WEEK
    periods = _periods(n_reports, months)
    rng = experiment_stream(seed, 0)
    a, b = np.triu_indices(PARTICIPANTS, 1)
    rows, by_month = [], []
    formal = np.zeros((n_reports, len(a)), dtype=bool)
    informal = np.zeros_like(formal)
    for m, record in enumerate(observed):
        f = record.formal[six[a], six[b]]
        i = record.informal[six[a], six[b]]
        formal[rng.choice(periods[m], len(a)), np.arange(len(a))] |= f
        informal[rng.choice(periods[m], len(a)), np.arange(len(a))] |= i
        by_month.extend(
            {"month": record.month, "a": int(x), "b": int(y), "formal": bool(ff),
             "informal": bool(ii)}
            for x, y, ff, ii in zip(a, b, f, i, strict=True)
        )
    for r in range(n_reports):
        rows.extend(
            {
                "report": r + 1, "week": r // REPORTS_PER_WEEK + 1, "a": int(x), "b": int(y),
                "formal": bool(formal[r, k]), "informal": bool(informal[r, k]),
            }
            for k, (x, y) in enumerate(zip(a, b, strict=True))
        )
    reports = pd.DataFrame(rows)
    counts = {}
    for kind in ("formal", "informal"):
        matrix = np.zeros((PARTICIPANTS, PARTICIPANTS), dtype=int)
        totals = reports.groupby(["a", "b"])[kind].sum()
        for (x, y), v in totals.items():
            matrix[x, y] = matrix[y, x] = int(v)
        counts[kind] = matrix
    contacted = np.zeros((n_reports, PARTICIPANTS), dtype=int)
    any_contact = formal | informal
    for k, (x, y) in enumerate(zip(a, b, strict=True)):
        contacted[:, x] += any_contact[:, k]
        contacted[:, y] += any_contact[:, k]
    per_report = pd.DataFrame(
        contacted, columns=[f"P{i + 1}" for i in range(PARTICIPANTS)],
        index=pd.RangeIndex(1, n_reports + 1, name="report"),
    )
    participants = pd.DataFrame({
        "participant": [f"P{i + 1}" for i in range(PARTICIPANTS)],
        "position": six,
        "home_organisation": model.state.peers.org[six],
        "person": model.records[start].person[six],
    })
    return {
        "reports": reports, "formal": counts["formal"], "informal": counts["informal"],
        "by_month": pd.DataFrame(by_month), "per_report": per_report,
        "participants": participants, "n_reports": n_reports, "start": start, "months": months,
    }


def personal_learning(
    scenario: Scenario, seed: int = 1, start: int = 12, months: int = 3,
    progress: bool | None = False,
) -> dict[str, Any]:
    """The practical-learning experiment: a weekly "productive conversation?" per participant.

    Participants are the officials in post with a live tie when observation starts ("who have
    any sort of regular contact with others"). A month in which a conversation raised a
    participant's exposure is a "yes" in one of that month's weeks. ``progress`` shows the
    months run with the time left (``None``: if stderr is a terminal).

    Returns:
        ``weekly`` (participants x weeks, 1 = yes), ``by_month`` (participants x months),
        ``participants``.
    """
    _check(scenario, start, months)
    with _bar("personal-learning", start + months, progress) as bar:
        model = _warm_up(scenario, seed, start, bar)
        who = np.flatnonzero(model.state.ties.alive.any(axis=1))
        if len(who) == 0:
            raise HourglassError(
                "experiment: nobody has a contact when observation starts; start later "
                "(--start) or choose a livelier scenario"
            )
        person = model.state.peers.person[who].copy()
        for _ in range(months):
            model.step()
            bar.update()
    observed = model.records[start : start + months]
    n_weeks = round(WEEKS * months / 3)
    periods = _periods(n_weeks, months)
    rng = experiment_stream(seed, 1)
    weekly = np.zeros((len(who), n_weeks), dtype=int)
    monthly = np.zeros((len(who), months), dtype=int)
    for m, record in enumerate(observed):
        # An official replaced during the window stops answering (the successor was not asked).
        yes = record.productive[who] & (record.person[who] == person)
        monthly[:, m] = yes
        weekly[np.flatnonzero(yes), rng.choice(periods[m], int(yes.sum()))] = 1
    labels = [f"P{i + 1}" for i in range(len(who))]
    return {
        "weekly": pd.DataFrame(weekly, index=pd.Index(labels, name="participant"),
                               columns=[f"week {w + 1}" for w in range(n_weeks)]),
        "by_month": pd.DataFrame(monthly, index=pd.Index(labels, name="participant"),
                                 columns=[f"month {r.month}" for r in observed]),
        "participants": pd.DataFrame({
            "participant": labels, "position": who, "home_organisation": model.state.peers.org[who],
        }),
        "start": start, "months": months,
    }


def no_peer_learning(scenario: Scenario) -> Scenario:
    """The counterfactual: the same scenario with no facilitator's tool used (no initiative)."""
    tools = dict.fromkeys((f"tools.{name}" for name in scenario.to_dict()["tools"]), 0.0)
    return scenario.with_overrides(tools, where="no-peer-learning counterfactual")


def sustained_abroad(model: PeerLearningModel, nodes: np.ndarray) -> np.ndarray:
    """Whether each staff member in ``nodes`` has sustained contact with a peer of another country.

    Sustained contact is a live tie at least ``observation.sustained_months`` old. Only a peer's
    own staff node can have peer ties; any other colleague answers no because it has none.

    Returns:
        (len(nodes),) bool.
    """
    state = model.state
    peers, ties = state.peers, state.ties
    country = state.orgs.country[peers.org]
    old = ties.alive & (ties.age >= model.scenario["observation.sustained_months"])
    abroad = (old & (country[:, None] != country[None, :])).any(axis=1)
    position = np.full(len(state.staff.org), -1)
    position[peers.staff_node] = np.arange(peers.n)
    found = position[np.asarray(nodes, dtype=np.int64)]
    return np.where(found >= 0, abroad[np.maximum(found, 0)], False)


def _team_neighbour(model: PeerLearningModel, node: int, rng: np.random.Generator) -> int:
    """A colleague of ``node`` who is not a peer: a staff-network neighbour, else any colleague."""
    staff = model.state.staff
    adjacency = staff.adjacency
    team = adjacency.indices[adjacency.indptr[node] : adjacency.indptr[node + 1]]
    team = team[~staff.is_peer[team]]
    if len(team):
        return int(rng.choice(team))
    org = int(staff.org[node])
    colleagues = np.arange(staff.org_start[org], staff.org_start[org + 1])
    return int(rng.choice(colleagues[~staff.is_peer[colleagues]]))


def natural(
    scenario: Scenario, seed: int = 1, reviews: int = 8, per_review: int = 8,
    progress: bool | None = False,
) -> dict[str, Any]:
    """The natural experiment: involved officials against similar colleagues not involved.

    Each "review" is one run of the scenario (seeds derived from ``seed``). At its end the
    researchers contact ``per_review`` officials in post who were engaged ("central to recent
    reviews"; fewer if fewer were), and each names one colleague with similar responsibilities who
    was not involved: a member of the official's team (a staff-network neighbour in the same home
    organisation who is not a peer). Both answer (ii) sustained contact with peers in other
    countries and (iii) key learning. In the model: (ii) a live tie at least
    ``observation.sustained_months`` old to a peer of another country (colleagues have no peer
    ties, by construction); (iii) "learned" is practical learning for an official and having
    adopted a lesson for a colleague, and "applied" is having adopted a lesson at work (both).

    The same run without the initiative (:func:`no_peer_learning`, same seed) shows what the
    colleagues' answers would have been had nobody been involved: the colleagues are not an
    untouched control, because involved officials share forward to their teams. ``progress``
    shows the runs (two per review) with the time left (``None``: if stderr is a terminal).

    Returns:
        ``people`` (one row per person), ``table`` (group shares with 95 % Wilson intervals) and
        ``contrasts`` (differences with 95 % intervals).
    """
    if reviews < 1 or per_review < 1:
        raise HourglassError("experiment: --reviews and --per-review must be at least 1")
    rng = experiment_stream(seed, 2)
    rows = []
    counterfactual = no_peer_learning(scenario)
    with _bar("natural", 2 * reviews, progress, unit="run") as bar:
        for review, run_seed in enumerate(experiment_seeds(seed, reviews)):
            model = PeerLearningModel(scenario, rng=run_seed)
            model.run()
            bar.update()
            none = PeerLearningModel(counterfactual, rng=run_seed)
            none.run()
            bar.update()
            peers, staff = model.state.peers, model.state.staff
            engaged = np.flatnonzero(peers.engaged)
            if len(engaged) == 0:
                continue
            chosen = rng.choice(engaged, min(per_review, len(engaged)), replace=False)
            for position in chosen:
                node = int(peers.staff_node[position])
                colleague = _team_neighbour(model, node, rng)
                rows.append({
                    "review": review + 1, "group": "involved", "position": int(position),
                    "staff_node": node,
                    "sustained_abroad": bool(sustained_abroad(model, np.array([node]))[0]),
                    "learned": bool(peers.practical[position]),
                    "applied": bool(staff.adopted[node].any()),
                })
                for group, m in (("colleague", model), ("colleague, no initiative", none)):
                    adopted = bool(m.state.staff.adopted[colleague].any())
                    rows.append({
                        "review": review + 1, "group": group, "position": int(position),
                        "staff_node": colleague,
                        "sustained_abroad": bool(sustained_abroad(m, np.array([colleague]))[0]),
                        "learned": adopted, "applied": adopted,
                    })
    if not rows:
        raise HourglassError("experiment: no official was engaged in any review run")
    people = pd.DataFrame(rows)
    table = []
    for group, frame in people.groupby("group", sort=False):
        for outcome in ("sustained_abroad", "learned", "applied"):
            k, n = int(frame[outcome].sum()), len(frame)
            lo, hi = wilson(k, n)
            table.append({"group": group, "outcome": outcome, "n": n, "share": k / n,
                          "ci_low": lo, "ci_high": hi})
    contrasts = []
    pairs = (("involved", "colleague"), ("colleague", "colleague, no initiative"))
    for outcome in ("sustained_abroad", "learned", "applied"):
        for a, b in pairs:
            x = people.loc[people["group"] == a, outcome].to_numpy(dtype=float)
            y = people.loc[people["group"] == b, outcome].to_numpy(dtype=float)
            d = x - y  # paired: same official / same colleague, row by row
            half = 1.96 * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else np.nan
            contrasts.append({"outcome": outcome, "contrast": f"{a} - {b}", "n": len(d),
                              "diff": d.mean(), "ci_low": d.mean() - half,
                              "ci_high": d.mean() + half})
    return {"people": people, "table": pd.DataFrame(table), "contrasts": pd.DataFrame(contrasts),
            "reviews": reviews, "per_review": per_review}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n``."""
    if n == 0:
        return (np.nan, np.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(centre - half), float(centre + half))


# -- writing -----------------------------------------------------------------------------------

def run_experiment(
    name: str, scenario: Scenario, seed: int, directory: Path, *,
    progress: bool | None = False, **options: Any
) -> dict[str, Any]:
    """Run experiment ``name`` and write its tables, figure and ``summary.json`` into ``directory``.

    ``progress`` shows its months or runs with the time left (``None``: if stderr is a terminal).

    Raises:
        HourglassError: Unknown experiment or bad options.
    """
    if name not in EXPERIMENTS:
        raise HourglassError(f"experiment: unknown '{name}'; allowed: {', '.join(EXPERIMENTS)}")
    title = f"{name}: {scenario.name}, seed {seed}"
    summary: dict[str, Any] = {"experiment": name, "scenario": scenario.name, "seed": seed}
    if name == "contact-intensity":
        result = contact_intensity(scenario, seed, progress=progress, **options)
        result["reports"].to_csv(directory / "reports.csv", index=False)
        result["by_month"].to_csv(directory / "contacts_by_month.csv", index=False)
        result["per_report"].to_csv(directory / "contacted_per_report.csv")
        result["participants"].to_csv(directory / "participants.csv", index=False)
        labels = [f"P{i + 1}" for i in range(PARTICIPANTS)]
        for kind in ("formal", "informal"):
            pd.DataFrame(result[kind], index=labels, columns=labels).to_csv(
                directory / f"heatmap_{kind}.csv"
            )
        save(contact_figure(result, title), directory / "contact_heatmap.png")
        pairs = PARTICIPANTS * (PARTICIPANTS - 1) // 2
        summary.update({
            "start_month": result["start"], "months": result["months"],
            "reports": result["n_reports"],
            "pairs_with_informal_contact": int((np.triu(result["informal"], 1) > 0).sum()),
            "pairs_with_formal_contact": int((np.triu(result["formal"], 1) > 0).sum()),
            "pairs": pairs,
        })
    elif name == "personal-learning":
        result = personal_learning(scenario, seed, progress=progress, **options)
        result["weekly"].to_csv(directory / "learning_weekly.csv")
        result["by_month"].to_csv(directory / "learning_by_month.csv")
        result["participants"].to_csv(directory / "participants.csv", index=False)
        save(learning_figure(result, title), directory / "learning_heatmap.png")
        summary.update({
            "start_month": result["start"], "months": result["months"],
            "participants": len(result["weekly"]),
            "share_of_weeks_productive": float(result["weekly"].to_numpy().mean()),
        })
    else:
        result = natural(scenario, seed, progress=progress, **options)
        result["people"].to_csv(directory / "people.csv", index=False)
        result["table"].to_csv(directory / "comparison.csv", index=False)
        result["contrasts"].to_csv(directory / "contrasts.csv", index=False)
        save(natural_figure(result, title), directory / "comparison.png")
        summary.update({"reviews": result["reviews"], "per_review": result["per_review"],
                        "people": len(result["people"])})
    (directory / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return result
