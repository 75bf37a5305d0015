"""Pattern-oriented validation against the report's patterns P1-P9 (docs/validation.md).

Each pattern of ``report-facts.md`` is written as one or more *criteria*: a statistic over
replicates of a scenario (the baseline, the typical initiative) and an inequality it must meet.
Every replicate runs a set of *arms*, variants of the scenario, all with the same seed (common
random numbers), so contrasts between arms are paired. A criterion *holds* when its whole 95 %
interval satisfies the inequality (the lower bound for ``>``, the upper bound for ``<``): a
pattern that holds only on average over too few replicates is reported as not holding.

Change attributable to peer learning is an arm minus its no-peer-learning counterfactual (the
same scenario with no facilitator's tool used, same seed), so that change from the background
adoption hazard (``home_organisations.background_adoption``) is not credited to peer learning.

:func:`filter_assumptions` is the inverse use of the patterns (Grimm et al. 2005): a Latin
hypercube over the parameters whose source is "assumption", each replicate-averaged design point
kept only if every per-scenario criterion holds there; the kept points give the ranges under
which the patterns hold at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.executors import RunResult, executor_for
from analysis.seeds import replicate_seeds, stream
from analysis.space import Group, Space
from analysis.sweep import run_sweep
from hourglass.adapter import tool_groups
from hourglass.experiments import InstrumentedModel, no_peer_learning
from simulation import PeerLearningModel, Scenario, load_tools, parameter_specs
from simulation.errors import HourglassError

SUMMARY_KEYS = (
    "engaged", "sustained_contacts", "practical_learning", "applied", "staff_reached",
    "orgs_changed", "reported_attendance",
)
# Equal effort for P3: the large group meetings' whole budget, 2 uses a year (intensity 1 x
# uses_per_year 2), against the same 2 uses a year spent on joint activities and multi-peer
# reflection (1 use a year each) with no large group meetings.
P3_USES = 2.0
CODIFIED_ONLY = tuple(
    f"tools.{t.name}" for t in load_tools() if not t.gathers_peers and t.group_size != 1
)


def _arms(scenario: Scenario) -> dict[str, Scenario]:
    """The variants every replicate runs, all from ``scenario``."""
    def over(values: Mapping[str, Any]) -> Scenario:
        return scenario.with_overrides(dict(values), where="validation arm")

    joint = scenario["tools.joint_peer_activities"] + P3_USES / 2 / 12
    reflect = scenario["tools.multi_peer_reflection"] + P3_USES / 2 / 12
    if joint > 1 or reflect > 1:
        raise HourglassError(
            f"validate: scenario '{scenario.name}' has no room to add {P3_USES / 2:g} uses a year "
            "of joint activities and multi-peer reflection (intensity would exceed 1)"
        )
    sf0 = over({"levers.share_forward": 0.0, "contact.contract_share_forward": 0.0})
    open0 = over({"levers.home_openness": 0.0})
    high = over({"levers.share_forward": 0.9, "levers.home_openness": 0.9})
    return {
        "base": scenario,
        "cf": no_peer_learning(scenario),
        "p3_meetings": over({"tools.large_group_meetings": 1.0}),
        "p3_sustaining": over({
            "tools.large_group_meetings": 0.0,
            "tools.joint_peer_activities": joint,
            "tools.multi_peer_reflection": reflect,
        }),
        "no_codified": over(dict.fromkeys(CODIFIED_ONLY, 0.0)),
        "sf0": sf0, "sf0_cf": no_peer_learning(sf0),
        "open0": open0, "open0_cf": no_peer_learning(open0),
        "high": high, "high_cf": no_peer_learning(high),
        "peer_only": over({"home_organisations.background_adoption": 0.0}),
        "dissemination": over({"levers.dissemination": 0.5, "diffusion.national_chapters": 0.5}),
        "contracts": over({"levers.peer_contracts": 1.0}),
        "report_backs": over({"facilitator.report_backs": 1.0}),
        "canvass": over({"facilitator.canvass_topics": 1.0}),
    }


def _p4(model: InstrumentedModel) -> dict[str, float]:
    """Tools and engagement length of the officials in post who reached practical learning."""
    learners = model.state.peers.practical
    tools = model.tools_count()[learners]
    months = model.engagement_months()[learners]
    return {
        "p4.learners": float(learners.sum()),
        "p4.multi_tool": float((tools > 1).sum()),
        "p4.tools": float(tools.sum()),
        "p4.weeks": float((months >= 2).sum()),
        "p4.year": float((months >= 12).sum()),
    }


def _p8(model: PeerLearningModel) -> dict[str, float]:
    """Who shares and where adoption concentrates (peer-only arm: no background adoption)."""
    state = model.state
    staff = state.staff
    adopted = (staff.adopted.any(axis=1) & ~staff.is_peer).astype(float)
    by_org = np.bincount(staff.org, weights=adopted, minlength=len(staff.org_size))
    top = max(1, len(by_org) // 5)
    total = by_org.sum()
    return {
        "p8.engaged": float(state.peers.engaged.sum()),
        "p8.shared": float((state.peers.engaged & state.peers.applied).sum()),
        "p8.adopted_total": float(total),
        "p8.adopted_top_fifth": float(np.sort(by_org)[::-1][:top].sum()),
    }


class PatternModel:
    """Sweep model running every validation arm with one seed: ``model(params, seed)``.

    Outputs are ``"<arm>.<summary key>"`` for :data:`SUMMARY_KEYS` plus the P4 counts of the
    base arm (``p4.*``) and the P8 counts of the peer-only arm (``p8.*``). Picklable.

    Args:
        base: Scenario name or path.
        overrides: Fixed overrides applied before ``params``.
    """

    def __init__(self, base: str = "baseline", overrides: Mapping[str, Any] | None = None) -> None:
        self.base = str(base)
        self.overrides = dict(overrides or {})

    def describe(self) -> dict[str, Any]:
        """Identity recorded in sweep stores."""
        return {"model": "hourglass-patterns", "base": self.base,
                "overrides": dict(sorted(self.overrides.items()))}

    def scenario(self, params: Mapping[str, Any] | None = None) -> Scenario:
        """The scenario for ``params`` (raises HourglassError on bad keys or values)."""
        scenario = Scenario.load(self.base)
        merged = {**self.overrides, **dict(params or {})}
        if not merged:
            return scenario
        return scenario.with_overrides(merged, where=f"{self.base} overrides")

    def check(self, params: Mapping[str, Any]) -> None:
        """Refuse bad parameters before a sweep starts."""
        _arms(self.scenario(params))

    def __call__(self, params: Mapping[str, Any], seed: int) -> dict[str, float]:
        """Run every arm with ``seed``."""
        out: dict[str, float] = {}
        for arm, scenario in _arms(self.scenario(params)).items():
            model_class = InstrumentedModel if arm == "base" else PeerLearningModel
            model = model_class(scenario, rng=int(seed))
            summary = model.run().summary
            out.update({f"{arm}.{k}": float(summary[k]) for k in SUMMARY_KEYS})
            if arm == "base":
                out.update(_p4(model))
            elif arm == "peer_only":
                out.update(_p8(model))
        return out


# -- criteria ----------------------------------------------------------------------------------

Values = Callable[[pd.DataFrame], np.ndarray]


def col(name: str) -> Values:
    """Per-replicate values of one output."""
    return lambda f: f[name].to_numpy(dtype=float)


def diff(a: str, b: str) -> Values:
    """Per-replicate paired difference ``a - b``."""
    return lambda f: f[a].to_numpy(dtype=float) - f[b].to_numpy(dtype=float)


def attributable(arm: str, key: str = "orgs_changed") -> Values:
    """Change attributable to peer learning: the arm minus its counterfactual, per replicate."""
    cf = "cf" if arm == "base" else f"{arm}_cf"
    return diff(f"{arm}.{key}", f"{cf}.{key}")


def uplift(arm: str, key: str) -> Values:
    """Attributable change of an arm minus the base arm's (both against the base counterfactual)."""
    return diff(f"{arm}.{key}", f"base.{key}")


@dataclass(frozen=True)
class Criterion:
    """One measurable criterion of a pattern.

    Attributes:
        pattern: ``P1`` ... ``P9``.
        name: Short identifier.
        text: The inequality in words and symbols.
        op: ``">"`` or ``"<"``.
        threshold: The bound.
        values: Per-replicate values (``kind="mean"``) or numerators (``kind="ratio"``).
        denominator: Per-replicate denominators for ``kind="ratio"``.
        kind: ``"mean"`` (t interval), ``"ratio"`` (ratio of sums, bootstrap interval) or
            ``"fixed"`` (an input check with no interval; ``values`` ignored).
        fixed: The value of a ``"fixed"`` criterion.
    """

    pattern: str
    name: str
    text: str
    op: str
    threshold: float
    values: Values | None = None
    denominator: Values | None = None
    kind: str = "mean"
    fixed: float | None = None

    def estimate(self, frame: pd.DataFrame, seed: int = 0) -> tuple[float, float, float]:
        """Point estimate and 95 % interval over the replicates in ``frame``."""
        if self.kind == "fixed":
            return (float(self.fixed), float(self.fixed), float(self.fixed))
        x = self.values(frame)
        if self.kind == "ratio":
            y = self.denominator(frame)
            if y.sum() == 0:
                return (np.nan, np.nan, np.nan)
            point = x.sum() / y.sum()
            if len(x) < 2:
                return (point, np.nan, np.nan)
            rng = stream(seed, 3, 9)
            idx = rng.integers(0, len(x), (2000, len(x)))
            sums = y[idx].sum(axis=1)
            boot = np.divide(x[idx].sum(axis=1), sums, out=np.full(len(sums), np.nan),
                             where=sums > 0)
            lo, hi = np.nanpercentile(boot, [2.5, 97.5])
            return (float(point), float(lo), float(hi))
        mean = float(x.mean())
        if len(x) < 2:
            return (mean, np.nan, np.nan)
        half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
        return (mean, mean - half, mean + half)

    def holds(self, low: float, high: float) -> bool:
        """Whether the whole interval meets the inequality."""
        bound = low if self.op == ">" else high
        if not np.isfinite(bound):
            return False
        return bound > self.threshold if self.op == ">" else bound < self.threshold

    def holds_at(self, point: float) -> bool:
        """Whether a point estimate meets the inequality (for filtering design points)."""
        if not np.isfinite(point):
            return False
        return point > self.threshold if self.op == ">" else point < self.threshold


def tool_shares(scenario: Scenario) -> dict[str, float]:
    """Mean intensity of the scenario's tools by process part and by function (report Table 3)."""
    out: dict[str, list[float]] = {}
    for tool in load_tools():
        value = scenario[f"tools.{tool.name}"]
        out.setdefault(tool.process_part, []).append(value)
        out.setdefault(tool.function, []).append(value)
    return {k: float(np.mean(v)) for k, v in out.items()}


def criteria(scenario: Scenario) -> list[Criterion]:
    """Every criterion, P1 to P9, for ``scenario`` (P1 reads its tool intensities)."""
    share = tool_shares(scenario)
    return [
        Criterion("P1", "foundational_over_sustained",
                  "mean intensity of foundational tools - sustained tools > 0 (input)", ">", 0.0,
                  kind="fixed", fixed=share["foundational"] - share["sustained"]),
        Criterion("P1", "interaction_knowledge_over_sharing",
                  "min(interaction, knowledge) - sharing mean intensity > 0 (input)", ">", 0.0,
                  kind="fixed",
                  fixed=min(share["interaction"], share["knowledge"]) - share["sharing"]),
        Criterion("P1", "sharing_over_reflection",
                  "sharing - reflection mean intensity > 0 (input)", ">", 0.0,
                  kind="fixed", fixed=share["sharing"] - share["reflection"]),
        Criterion("P2", "engaged_over_sustained", "engaged - sustained_contacts > 0", ">", 0.0,
                  diff("base.engaged", "base.sustained_contacts")),
        Criterion("P2", "sustained_over_practical",
                  "sustained_contacts - practical_learning > 0 (the weak link)", ">", 0.0,
                  diff("base.sustained_contacts", "base.practical_learning")),
        Criterion("P2", "change_at_scale_rare",
                  "orgs_changed attributable to peer learning (base - counterfactual) < 0.10",
                  "<", 0.10, attributable("base")),
        Criterion("P3", "sustaining_widens_waist",
                  "practical_learning: 2 uses/yr on joint activities + reflection - 2 uses/yr "
                  "on large group meetings > 0", ">", 0.0,
                  diff("p3_sustaining.practical_learning", "p3_meetings.practical_learning")),
        Criterion("P4", "several_tools",
                  "share of practical learners who took part in more than one tool > 0.9", ">",
                  0.9, col("p4.multi_tool"), col("p4.learners"), kind="ratio"),
        Criterion("P4", "mean_tools", "mean number of tools per practical learner > 3", ">", 3.0,
                  col("p4.tools"), col("p4.learners"), kind="ratio"),
        Criterion("P4", "weeks_or_more",
                  "share of practical learners engaged 2 months or more > 0.75", ">", 0.75,
                  col("p4.weeks"), col("p4.learners"), kind="ratio"),
        Criterion("P4", "year_or_more",
                  "share of practical learners engaged 12 months or more > 0.45", ">", 0.45,
                  col("p4.year"), col("p4.learners"), kind="ratio"),
        Criterion("P5", "learning_is_experiential",
                  "practical_learning without codified-only tools / with them > 0.8", ">", 0.8,
                  col("no_codified.practical_learning"), col("base.practical_learning"),
                  kind="ratio"),
        Criterion("P6", "attendance_high_learning_low",
                  "reported_attendance - practical_learning > 0.3", ">", 0.3,
                  diff("base.reported_attendance", "base.practical_learning")),
        Criterion("P7", "no_share_forward_no_change",
                  "share_forward = 0: attributable orgs_changed < 0.02", "<", 0.02,
                  attributable("sf0")),
        Criterion("P7", "closed_orgs_no_change",
                  "home_openness = 0: attributable orgs_changed < 0.02", "<", 0.02,
                  attributable("open0")),
        Criterion("P7", "both_high_change",
                  "share_forward = home_openness = 0.9: attributable orgs_changed > 0", ">", 0.0,
                  attributable("high")),
        Criterion("P8", "most_share_nothing",
                  "share of engaged officials who never applied a lesson at home > 0.5", ">",
                  0.5, diff("p8.engaged", "p8.shared"), col("p8.engaged"), kind="ratio"),
        Criterion("P8", "reach_concentrated",
                  "share of adopting colleagues in the top fifth of organisations > 0.5", ">",
                  0.5, col("p8.adopted_top_fifth"), col("p8.adopted_total"), kind="ratio"),
        Criterion("P8", "dissemination_widens_reach",
                  "staff_reached: dissemination events with national chapters - base > 0", ">",
                  0.0, uplift("dissemination", "staff_reached")),
        Criterion("P9", "contracts_sustain",
                  "sustained_contacts: peer contracts - base > 0", ">", 0.0,
                  uplift("contracts", "sustained_contacts")),
        Criterion("P9", "contracts_apply", "applied: peer contracts - base > 0", ">", 0.0,
                  uplift("contracts", "applied")),
        Criterion("P9", "report_backs_apply", "applied: report-backs - base > 0", ">", 0.0,
                  uplift("report_backs", "applied")),
        Criterion("P9", "canvass_smaller",
                  "reported_attendance: canvassing topics - base < 0 (smaller events)", "<", 0.0,
                  uplift("canvass", "reported_attendance")),
        Criterion("P9", "canvass_committed",
                  "practical_learning per engaged: canvassing - base > 0 (more committed)", ">",
                  0.0, lambda f: _per(f, "canvass") - _per(f, "base")),
    ]


def _per(frame: pd.DataFrame, arm: str) -> np.ndarray:
    engaged = frame[f"{arm}.engaged"].to_numpy(dtype=float)
    practical = frame[f"{arm}.practical_learning"].to_numpy(dtype=float)
    return np.divide(practical, engaged, out=np.zeros_like(practical), where=engaged > 0)


# -- running -----------------------------------------------------------------------------------

def run_replicates(
    model: PatternModel, replicates: int, seed: int = 1, executor: Any = "processes",
    workers: int | None = None, progress: bool | None = None,
) -> pd.DataFrame:
    """Run the pattern model ``replicates`` times (common random number seeds), one row each.

    ``progress``: a bar with time left (``None``: when standard error is a terminal).
    """
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 2:
        raise HourglassError(f"validate: replicates must be an integer >= 2, got {replicates!r}")
    model.check({})
    seeds = replicate_seeds(seed, replicates)
    runs = [(r, {}, s) for r, s in enumerate(seeds)]
    results: dict[int, RunResult] = {}
    with executor_for(executor, workers) as runner:
        runner.map_runs([(model, runs)], lambda chunk: results.update((r.run_id, r) for r in chunk),
                        progress=progress, desc="validate: replicates")
    done = [results[r] for r in range(replicates)]
    frame = pd.DataFrame([r.outputs for r in done])
    frame.insert(0, "seed", np.array([r.seed for r in done], dtype=np.int64))
    frame.index.name = "replicate"
    return frame


def evaluate(frame: pd.DataFrame, scenario: Scenario, seed: int = 0) -> pd.DataFrame:
    """The validation table: one row per criterion with estimate, 95 % interval and verdict."""
    rows = []
    for c in criteria(scenario):
        value, low, high = c.estimate(frame, seed)
        rows.append({"pattern": c.pattern, "criterion": c.name, "text": c.text,
                     "value": value, "ci_low": low, "ci_high": high,
                     "holds": c.holds(low, high), "replicates": len(frame)})
    return pd.DataFrame(rows)


# -- P6 across scenarios ------------------------------------------------------------------------

def proxy_space() -> Space:
    """Scenarios for P6: the levers, attendance drivers and tool groups, varied together."""
    specs: dict[str, object] = {
        "levers.share_forward": (0.0, 1.0), "levers.home_openness": (0.0, 1.0),
        "levers.matching": (0.0, 1.0), "levers.peer_contracts": (0.0, 1.0),
        "levers.community_of_practice": (0.0, 1.0), "facilitator.logistics": (0.0, 1.0),
        "facilitator.report_backs": (0.0, 1.0), "peers.time_to_engage": (0.2, 1.0),
        "home_organisations.willingness_to_invest": (0.0, 1.0),
    }
    for function, keys in tool_groups().items():
        specs[f"{function} tools"] = Group(keys, 0.0, 1.0)
    return Space(specs, source="P6 proxy space")


def attendance_proxy(
    samples: int, replicates: int, seed: int = 1, base: str = "baseline",
    executor: Any = "processes", workers: int | None = None,
    overrides: Mapping[str, Any] | None = None, progress: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """P6 across scenarios: rank correlation of reported attendance with change at scale.

    A Latin hypercube over :func:`proxy_space`; per design point, replicate means. Spearman's
    rho of ``reported_attendance`` and of ``applied`` with ``orgs_changed``, with 95 % bootstrap
    intervals over design points.

    Returns:
        The criteria rows (as :func:`evaluate` gives) and the per-point means.
    """
    from hourglass.adapter import HourglassModel  # noqa: PLC0415 - avoid a cycle

    model = HourglassModel(base, every=0, overrides=overrides)
    sweep = run_sweep(model, proxy_space(), "lhs", samples, replicates, seed=seed,
                      executor=executor, workers=workers, progress=progress,
                      desc="validate: P6 designs")
    means = sweep.means
    att, app, org = (means[k].to_numpy(dtype=float)
                     for k in ("reported_attendance", "applied", "orgs_changed"))
    rng = stream(seed, 3, 6)

    def rho(x: np.ndarray, y: np.ndarray) -> float:
        return float(stats.spearmanr(x, y).statistic) if np.ptp(x) and np.ptp(y) else 0.0

    idx = rng.integers(0, len(org), (1000, len(org)))
    boot_att = np.array([rho(att[i], org[i]) for i in idx])
    boot_gap = np.array([rho(app[i], org[i]) - rho(att[i], org[i]) for i in idx])
    rows = [
        {"pattern": "P6", "criterion": "attendance_weak_proxy",
         "text": "Spearman rho(reported_attendance, orgs_changed) across scenarios < 0.3",
         "value": rho(att, org), "ci_low": float(np.percentile(boot_att, 2.5)),
         "ci_high": float(np.percentile(boot_att, 97.5))},
        {"pattern": "P6", "criterion": "learning_better_proxy",
         "text": "rho(applied, orgs_changed) - rho(reported_attendance, orgs_changed) > 0",
         "value": rho(app, org) - rho(att, org), "ci_low": float(np.percentile(boot_gap, 2.5)),
         "ci_high": float(np.percentile(boot_gap, 97.5))},
    ]
    rows[0]["holds"] = bool(rows[0]["ci_high"] < 0.3)
    rows[1]["holds"] = bool(rows[1]["ci_low"] > 0)
    for row in rows:
        row["replicates"] = f"{samples} scenarios x {replicates}"
    return pd.DataFrame(rows), means


# -- pattern-oriented filtering -----------------------------------------------------------------

EXCLUDED_FROM_FILTER = ("run.", "population.")


def assumption_space(scale: float = 0.5) -> Space:
    """Every numeric parameter whose source is "assumption", over default x (1 -+ ``scale``).

    Structural sizes (``run.*``, ``population.*``) and the even staff degree are left out;
    parameters whose default is 0 vary over [0, ``scale``] of their allowed range.
    """
    specs: dict[str, object] = {}
    for name, spec in parameter_specs().items():
        if spec.source != "assumption" or name.startswith(EXCLUDED_FROM_FILTER):
            continue
        if spec.kind not in ("float", "int") or name == "home_organisations.staff_degree":
            continue
        default = float(spec.default)
        if default == 0:
            lo, hi = 0.0, scale * (spec.high - spec.low)
        else:
            lo, hi = default * (1 - scale), default * (1 + scale)
        lo, hi = max(lo, spec.low), min(hi, spec.high)
        if spec.kind == "int":
            ilo, ihi = int(np.floor(lo)), int(np.ceil(hi))
            if ihi > ilo:
                specs[name] = ("int", ilo, ihi)
        elif hi > lo:
            specs[name] = (lo, hi)
    return Space(specs, source="assumption space")


def filter_assumptions(
    samples: int, replicates: int, seed: int = 1, base: str = "baseline",
    executor: Any = "processes", workers: int | None = None, store: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None, progress: bool | None = None,
) -> dict[str, pd.DataFrame]:
    """Pattern-oriented filtering of a Latin hypercube over the assumption parameters.

    Each design point runs every arm ``replicates`` times with common random numbers; a point is
    accepted when every per-scenario criterion (P2-P5, P6's attendance gap, P7-P9; not P1, an
    input check) holds on its replicate means.

    Returns:
        ``points`` (factor values, criterion values and verdicts, ``accepted``), ``ranges``
        (per parameter: explored range, accepted min/max and 10-90 % quantiles, the scenario's
        value and whether it lies inside the accepted range) and ``pass_rates`` (share of
        points where each criterion holds).
    """
    model = PatternModel(base, overrides)
    space = assumption_space()
    sweep = run_sweep(model, space, "lhs", samples, replicates, seed=seed, executor=executor,
                      workers=workers, store=store, progress=progress,
                      info={"purpose": "pattern-oriented filtering"}, desc="validate: filter")
    scenario = model.scenario()
    checks = [c for c in criteria(scenario) if c.kind != "fixed"]
    runs = sweep.runs
    rows = []
    for row, frame in runs.groupby("row", sort=True):
        verdicts = {}
        for c in checks:
            value = c.estimate(frame, seed)[0]
            verdicts[f"{c.pattern}:{c.name}"] = value
            verdicts[f"holds {c.pattern}:{c.name}"] = c.holds_at(value)
        rows.append({"row": row, **verdicts})
    verdict = pd.DataFrame(rows).set_index("row")
    holds = verdict[[c for c in verdict.columns if c.startswith("holds ")]]
    points = sweep.factors.join(verdict)
    points["accepted"] = holds.all(axis=1)
    accepted = points[points["accepted"]]
    ranges = []
    for name, factor in space.factors.items():
        value = scenario[name]
        lo_acc = accepted[name].min() if len(accepted) else np.nan
        hi_acc = accepted[name].max() if len(accepted) else np.nan
        ranges.append({
            "parameter": name, "explored_low": factor.from_unit(0.0),
            "explored_high": factor.from_unit(1.0), "accepted_low": lo_acc,
            "accepted_high": hi_acc,
            "accepted_q10": accepted[name].quantile(0.1) if len(accepted) else np.nan,
            "accepted_q90": accepted[name].quantile(0.9) if len(accepted) else np.nan,
            "scenario_value": value,
            "inside": bool(len(accepted) and lo_acc <= value <= hi_acc),
        })
    pass_rates = holds.mean().rename("pass_rate").to_frame()
    pass_rates.index = [i.removeprefix("holds ") for i in pass_rates.index]
    pass_rates.index.name = "criterion"
    return {"points": points, "ranges": pd.DataFrame(ranges), "pass_rates": pass_rates}
