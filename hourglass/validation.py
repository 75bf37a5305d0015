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

Over a posterior ensemble (issue 15 §3) every parameter set runs with seeds of its own: the
independent unit of a test is then a parameter set, and each criterion's per-run values split
into variance between parameter sets and between seeds (:mod:`analysis.uncertainty`). Tests are
one-sided and the held-out criteria are corrected together with Holm's method
(:mod:`hourglass.validation_stats`; :func:`correct`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.executors import RunResult, executor_for
from analysis.seeds import replicate_seeds, run_seed, stream
from analysis.space import Space
from analysis.sweep import run_sweep
from hourglass import validation_stats as vs
from hourglass.experiments import InstrumentedModel, no_peer_learning
from simulation import PeerLearningModel, Scenario, load_tools, parameter_specs
from simulation.errors import HourglassError

SUMMARY_KEYS = (
    "engaged", "participants", "sustained_contacts", "practical_learning", "applied",
    "staff_reached", "orgs_changed", "reported_attendance",
)
# What a facilitator's evaluation shows as numbers (report Figure 11: events, products and
# attendance, shown by over 80 %): the run's summary keys of those activity metrics, recorded for
# the base arm as ``base.reported.<key>``. Whether an initiative's evaluation shows them at all is
# the summary's ``reports_activity`` (simulation/initiative.py, recorded as
# ``base.reports_activity`` with the other ``reports_*`` flags); P6 reads them across the
# initiatives of the population that report them.
REPORTED_METRICS = ("events_held", "products_released", "reported_attendance")
SHOWS_ACTIVITY = "base.reports_activity"
# Equal effort for P3: the large group meetings' whole budget, 2 uses a year (intensity 1 x
# uses_per_year 2), against the same 2 uses a year spent on joint activities and multi-peer
# reflection (1 use a year each) with no large group meetings.
P3_USES = 2.0
CODIFIED_ONLY = tuple(
    f"tools.{t.name}" for t in load_tools() if not t.gathers_peers and t.group_size != 1
)
# The DR Congo case (report Annex 3): the most effective peer learning was "long term, sustained
# over several years", with contact "less often than every two months". Its scenario runs its
# tools over 96 months; the contrast packs the same expected uses into two thirds of the months
# (every intensity x 1.5, fixed before the criterion was first run; the case's largest
# intensity, 0.5, stays below 1) and looks at both at month 96. Run only when validating the
# baseline: the case lives in the report's world, the baseline's assumptions (and a parameter
# set's), not in another scenario's levers.
CASE_DRC = "drc_long_infrequent"
DRC_PACKED = 1.5


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
        **(_drc_arms(scenario) if scenario.name == "baseline" else {}),
    }


def in_world_of(scenario: Scenario, case: str) -> Scenario:
    """Scenario ``case`` with every value ``scenario`` moved from the baseline's, but its own.

    A case study extends the baseline and sets its own keys (its tools, run length, levers); a
    parameter set or an override that moved the baseline's assumptions moves the case's too.
    """
    own, baseline = Scenario.load(case), Scenario.load("baseline")
    moved = {k: v for k, v in scenario.values.items()  # noqa: PD011 - a dict, not pandas
             if v != baseline[k] and own[k] == baseline[k]}
    return own.with_overrides(moved, where=f"{case} in {scenario.name}'s world") if moved else own


def _drc_arms(scenario: Scenario) -> dict[str, Scenario]:
    """The DR Congo case as its scenario has it, and hurried: the same uses in fewer months."""
    drc = in_world_of(scenario, CASE_DRC)
    tools = {f"tools.{t.name}": drc[f"tools.{t.name}"] * DRC_PACKED for t in load_tools()}
    if max(tools.values()) > 1:
        raise HourglassError(
            f"validate: {CASE_DRC} has a tool of intensity above {1 / DRC_PACKED:.2f}: its uses "
            f"cannot be packed into 1/{DRC_PACKED:g} of the months (intensity would exceed 1)")
    months = drc["run.months"] if drc["initiative.months"] == 0 else drc["initiative.months"]
    hurried = drc.with_overrides(
        {**tools, "initiative.months": round(months / DRC_PACKED)}, where="validation arm")
    return {"drc_sustained": drc, "drc_hurried": hurried}


def _p4(model: InstrumentedModel) -> dict[str, float]:
    """Tools and engagement length of the peer learners in post.

    hourglass/counts.py's reading of the survey's respondents: learned from a peer, or in
    practice.
    """
    learners = model.state.peers.practical | model.learned_from_peer
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


@cache
def _ensemble(path: str) -> tuple[dict[str, Any], ...]:
    """The rows of a Parquet ensemble as scenario overrides (columns with a dot in the name)."""
    frame = pd.read_parquet(path)
    keys = [c for c in frame.columns if "." in c]  # scenario keys; bookkeeping columns have none
    return tuple({k: v.item() if hasattr(v, "item") else v for k, v in row.items()}
                 for row in frame[keys].to_dict("records"))


def check_rows(path: str | Path, rows: Sequence[int], base: str = "baseline",
               overrides: Mapping[str, Any] | None = None, held: Sequence[str] = ()) -> None:
    """Refuse, before any run, a drawn parameter set that is not a valid scenario.

    The file itself is checked by :func:`hourglass.posterior.check` (keys, numbers, size).

    Raises:
        HourglassError: One line naming the file's row, the key and what is allowed.
    """
    model = PatternModel(base, overrides, parameter_sets=path, held=held)
    for row in rows:
        model.scenario({"parameter_set": int(row)})


class PatternModel:
    """Sweep model running every validation arm with one seed: ``model(params, seed)``.

    Outputs are ``"<arm>.<summary key>"`` for :data:`SUMMARY_KEYS`, the base arm's reported
    metrics (``base.reported.<key>``, :data:`REPORTED_METRICS`) and ``reports_*`` flags, what
    the report counts in the base arm (``counts.*``, :class:`hourglass.counts.RunCounts`: the
    calibration targets' statistics), the P4 counts of the base arm (``p4.*``) and the P8 counts
    of the peer-only arm (``p8.*``). Picklable.

    Args:
        base: Scenario name or path.
        overrides: Fixed overrides applied before ``params``.
        parameter_sets: Parquet ensemble of parameter sets (e.g. a calibration's posterior):
            ``params`` may then hold ``"parameter_set"`` (row number), whose values apply
            after ``overrides`` and before the other params.
        held: Keys a parameter set leaves as the scenario or ``overrides`` set them
            (:func:`hourglass.posterior.held_keys`). The arms' own variants always apply last.
    """

    def __init__(self, base: str = "baseline", overrides: Mapping[str, Any] | None = None,
                 parameter_sets: str | Path | None = None, held: Sequence[str] = ()) -> None:
        self.base = str(base)
        self.overrides = dict(overrides or {})
        self.parameter_sets = None if parameter_sets is None else str(parameter_sets)
        self.held = tuple(sorted(held))

    def describe(self) -> dict[str, Any]:
        """Identity recorded in sweep stores."""
        identity = {"model": "hourglass-patterns", "base": self.base,
                    "overrides": dict(sorted(self.overrides.items()))}
        if self.parameter_sets is not None:
            identity["parameter_sets"] = self.parameter_sets
        if self.held:
            identity["held"] = list(self.held)
        return identity

    def scenario(self, params: Mapping[str, Any] | None = None) -> Scenario:
        """The scenario for ``params`` (raises HourglassError on bad keys or values)."""
        scenario = Scenario.load(self.base)
        params = dict(params or {})
        if "parameter_set" in params:
            row = params.pop("parameter_set")
            if self.parameter_sets is None:
                raise HourglassError("validate: 'parameter_set' given without an ensemble")
            rows = _ensemble(self.parameter_sets)
            if isinstance(row, bool) or not float(row).is_integer() or not 0 <= row < len(rows):
                raise HourglassError(
                    f"validate: parameter_set must be a row number in [0, {len(rows) - 1}] "
                    f"of {self.parameter_sets}, got {row!r}")
            if self.overrides:
                scenario = scenario.with_overrides(self.overrides,
                                                   where=f"{self.base} overrides")
            values = {k: v for k, v in rows[int(row)].items() if k not in self.held}
            scenario = scenario.with_overrides(values,
                                               where=f"{self.parameter_sets} row {int(row)}")
            if params:
                scenario = scenario.with_overrides(params, where=f"{self.base} parameters")
            return scenario
        merged = {**self.overrides, **params}
        if not merged:
            return scenario
        return scenario.with_overrides(merged, where=f"{self.base} overrides")

    def check(self, params: Mapping[str, Any]) -> None:
        """Refuse bad parameters before a sweep starts."""
        _arms(self.scenario(params))

    def __call__(self, params: Mapping[str, Any], seed: int) -> dict[str, float]:
        """Run every arm with ``seed``."""
        out: dict[str, float] = {}
        from hourglass.counts import RunCounts  # noqa: PLC0415

        for arm, scenario in _arms(self.scenario(params)).items():
            model_class = InstrumentedModel if arm == "base" else PeerLearningModel
            model = model_class(scenario, rng=int(seed))
            counts = RunCounts(model) if arm == "base" else None
            summary = model.run().summary
            if counts is not None:
                out.update({f"counts.{k}": float(v) for k, v in counts.outputs().items()})
            out.update({f"{arm}.{k}": float(summary[k]) for k in SUMMARY_KEYS})
            if arm == "base":
                out.update({f"base.reported.{k}": float(summary[k])
                            for k in REPORTED_METRICS if k in summary})
                out.update({f"base.{k}": float(v) for k, v in summary.items()
                            if k.startswith("reports_")})
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
        values: Per-run values (``kind="mean"``), numerators (``kind="ratio"``) or a per-run
            table, one column per variable (``kind="population"``).
        denominator: Per-run denominators for ``kind="ratio"``.
        kind: ``"mean"`` (t interval over units), ``"ratio"`` (ratio of sums, bootstrap
            interval over units), ``"population"`` (a statistic across the runs, each run one
            initiative; bootstrap interval over units) or ``"fixed"`` (an input check with no
            interval; ``values`` ignored).
        fixed: The value of a ``"fixed"`` criterion.
        statistic: The statistic of a ``"population"`` criterion, of the ``values`` table.
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
    statistic: Callable[[np.ndarray], float] | None = None

    def estimate(self, frame: pd.DataFrame, seed: int = 0) -> tuple[float, float, float]:
        """Point estimate and 95 % interval over the units in ``frame`` (see :meth:`test`)."""
        found = self.test(frame, seed)
        return (found["value"], found["ci_low"], found["ci_high"])

    def test(self, frame: pd.DataFrame, seed: int = 0) -> dict[str, float]:
        """Estimate, 95 % interval, one-sided p-value and the two parts of the variance.

        The unit of the test is a parameter set when ``frame`` has a ``parameter_set`` column
        with two or more sets (their seeds pooled within), else a run. ``p_value`` tests the
        null hypothesis that the inequality does not hold (:mod:`hourglass.validation_stats`).

        Returns:
            ``value``, ``ci_low``, ``ci_high``, ``p_value``, ``units``, ``sd_unit`` (of one
            unit's value), ``posterior_share`` (share of parameter sets whose own value meets
            the inequality; NaN at the point defaults), ``between``, ``within`` and
            ``share_between`` (variance between parameter sets and between seeds of the
            per-run values; ``between`` NaN at the point defaults).
        """
        nan = np.nan
        out = {"value": nan, "ci_low": nan, "ci_high": nan, "p_value": nan, "units": nan,
               "sd_unit": nan, "posterior_share": nan, "between": nan, "within": nan,
               "share_between": nan}
        if self.kind == "fixed":
            value = float(self.fixed)
            return {**out, "value": value, "ci_low": value, "ci_high": value}
        codes, ensemble = _units(frame)
        k = int(codes.max()) + 1 if len(codes) else 0
        out["units"] = float(k)
        if self.kind == "mean":
            return {**out, **self._mean(codes, k, ensemble, frame)}
        if self.kind == "ratio":
            return {**out, **self._ratio(codes, k, ensemble, frame, seed)}
        return {**out, **self._population(codes, k, frame, seed)}

    def _mean(self, codes: np.ndarray, k: int, ensemble: bool,
              frame: pd.DataFrame) -> dict[str, float]:
        x = np.asarray(self.values(frame), dtype=float)
        unit = np.bincount(codes, weights=x, minlength=k) / np.bincount(codes, minlength=k)
        value = float(unit.mean())
        found = {"value": value, "p_value": vs.p_one_sided_t(unit, self.threshold, self.op),
                 **_split(codes, x, ensemble)}
        if k >= 2:
            sd = float(unit.std(ddof=1))
            half = float(stats.t.ppf(0.975, k - 1) * sd / np.sqrt(k))
            found.update(ci_low=value - half, ci_high=value + half, sd_unit=sd)
        if ensemble:
            found["posterior_share"] = float(np.mean([self.holds_at(u) for u in unit]))
        return found

    def _ratio(self, codes: np.ndarray, k: int, ensemble: bool, frame: pd.DataFrame,
               seed: int) -> dict[str, float]:
        x = np.asarray(self.values(frame), dtype=float)
        y = np.asarray(self.denominator(frame), dtype=float)
        sx = np.bincount(codes, weights=x, minlength=k)
        sy = np.bincount(codes, weights=y, minlength=k)
        if sy.sum() == 0:
            return {"p_value": 1.0}  # nobody to count: undefined, not a pass
        point = float(sx.sum() / sy.sum())
        per_run = np.divide(x, y, out=np.full(len(x), np.nan), where=y > 0)
        found = {"value": point, "p_value": 1.0, **_split(codes, per_run, ensemble)}
        if ensemble:
            unit = np.divide(sx, sy, out=np.full(k, np.nan), where=sy > 0)
            found["posterior_share"] = float(np.mean([self.holds_at(u) for u in unit]))
        if k < 2:
            return found
        rng = stream(seed, 3, 9)
        idx = rng.integers(0, k, (2000, k))
        sums = sy[idx].sum(axis=1)
        boot = np.divide(sx[idx].sum(axis=1), sums, out=np.full(len(sums), np.nan),
                         where=sums > 0)
        lo, hi = np.nanpercentile(boot, [2.5, 97.5])
        found.update(ci_low=float(lo), ci_high=float(hi),
                     p_value=vs.p_one_sided_bootstrap(point, boot, self.threshold, self.op),
                     sd_unit=float(np.nanstd(boot, ddof=1) * np.sqrt(k)))
        return found

    def _population(self, codes: np.ndarray, k: int, frame: pd.DataFrame,
                    seed: int) -> dict[str, float]:
        table = np.asarray(self.values(frame), dtype=float)
        point = float(self.statistic(table))
        found = {"value": point, "p_value": 1.0}
        if k < 2 or not np.isfinite(point):
            return found
        members = [np.flatnonzero(codes == u) for u in range(k)]
        rng = stream(seed, 3, 6)
        boot = np.empty(1000)
        for b, picked in enumerate(rng.integers(0, k, (len(boot), k))):
            boot[b] = self.statistic(table[np.concatenate([members[u] for u in picked])])
        lo, hi = np.nanpercentile(boot, [2.5, 97.5])
        found.update(ci_low=float(lo), ci_high=float(hi),
                     p_value=vs.p_one_sided_bootstrap(point, boot, self.threshold, self.op),
                     sd_unit=float(np.nanstd(boot, ddof=1) * np.sqrt(k)))
        return found

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


def _units(frame: pd.DataFrame) -> tuple[np.ndarray, bool]:
    """Each run's unit (0 ... k-1) and whether the units are parameter sets (an ensemble)."""
    if "parameter_set" in frame.columns and frame["parameter_set"].nunique() >= 2:
        codes, _ = pd.factorize(frame["parameter_set"], sort=True)
        return codes.astype(np.int64), True
    return np.arange(len(frame), dtype=np.int64), False


def _split(codes: np.ndarray, x: np.ndarray, ensemble: bool) -> dict[str, float]:
    """Variance of per-run values between parameter sets and between seeds (NaN: not defined).

    At the point defaults only the seeds' part exists. Runs whose value is undefined (a ratio
    with nobody to count) are left out; sets left with fewer than 2 runs too.
    """
    from analysis.errors import AnalysisError  # noqa: PLC0415
    from analysis.uncertainty import variance_split  # noqa: PLC0415

    keep = np.isfinite(x)
    if not ensemble:
        within = float(np.var(x[keep], ddof=1)) if keep.sum() >= 2 else np.nan
        return {"within": within}
    runs = pd.DataFrame({"parameter_set": codes[keep], "value": x[keep]})
    counts = runs["parameter_set"].map(runs["parameter_set"].value_counts())
    runs = runs[counts >= 2]
    try:
        found = variance_split(runs, "value", bootstrap=200)
    except AnalysisError:
        return {}
    return {"between": found["between"], "within": found["within"],
            "share_between": found["share_between"]}


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
        Criterion("P2", "engaged_over_sustained",
                  "engaged (share of organisations) - sustained_contacts (share of officials) > 0",
                  ">", 0.0,
                  diff("base.engaged", "base.sustained_contacts")),
        Criterion("P2", "sustained_over_practical",
                  "sustained_contacts - practical_learning > 0 (the weak link)", ">", 0.0,
                  diff("base.sustained_contacts", "base.practical_learning")),
        Criterion("P2", "change_at_scale_rare",
                  "orgs_changed attributable to peer learning (base - counterfactual) < 0.10",
                  "<", 0.10, attributable("base")),
        Criterion("P3", "sustaining_widens_waist",
                  "practical_learning: 2 uses/yr (expected) on joint activities + reflection - "
                  "2 uses/yr on large group meetings > 0", ">", 0.0,
                  diff("p3_sustaining.practical_learning", "p3_meetings.practical_learning")),
        Criterion("P4", "several_tools",
                  "share of peer learners who took part in more than one tool > 0.9", ">",
                  0.9, col("p4.multi_tool"), col("p4.learners"), kind="ratio"),
        Criterion("P4", "mean_tools", "mean number of tools per peer learner > 3", ">", 3.0,
                  col("p4.tools"), col("p4.learners"), kind="ratio"),
        Criterion("P4", "weeks_or_more",
                  "share of peer learners engaged 2 months or more > 0.75", ">", 0.75,
                  col("p4.weeks"), col("p4.learners"), kind="ratio"),
        Criterion("P4", "year_or_more",
                  "share of peer learners engaged 12 months or more > 0.45", ">", 0.45,
                  col("p4.year"), col("p4.learners"), kind="ratio"),
        Criterion("P5", "learning_is_experiential",
                  "practical_learning without codified-only tools / with them > 0.8", ">", 0.8,
                  col("no_codified.practical_learning"), col("base.practical_learning"),
                  kind="ratio"),
        Criterion("P6", "attendance_high_learning_low",
                  "reported_attendance - practical_learning > 0.3", ">", 0.3,
                  diff("base.reported_attendance", "base.practical_learning")),
        Criterion("P6", "reported_says_little_learning",
                  "across initiatives showing activity, R^2 of practical_learning on the "
                  "reported metrics (Figure 11: events, products, attendance) < 0.5", "<", 0.5,
                  _p6_table, kind="population", statistic=_p6_learning),
        Criterion("P6", "reported_says_little_change",
                  "across initiatives showing activity, R^2 of attributable orgs_changed on the "
                  "reported metrics < 0.5", "<", 0.5, _p6_table, kind="population",
                  statistic=_p6_change),
        Criterion("P6", "learning_says_more",
                  "across initiatives showing activity, R^2 of attributable orgs_changed on "
                  "practical_learning - R^2 on the reported metrics > 0", ">", 0.0, _p6_table,
                  kind="population", statistic=_p6_more),
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
                  "practical_learning per participant: canvassing - base > 0 (more committed)",
                  ">", 0.0, lambda f: _per(f, "canvass") - _per(f, "base")),
        *([_drc_criterion()] if scenario.name == "baseline" else []),
    ]


def _drc_criterion() -> Criterion:
    months = Scenario.load(CASE_DRC)["run.months"]
    return Criterion(
        "DRC", "sustained_beats_hurried",
        f"practical_learning at month {months}: DR Congo's tools over {months} months - the same "
        f"expected uses in {round(months / DRC_PACKED)} months > 0", ">", 0.0,
        diff("drc_sustained.practical_learning", "drc_hurried.practical_learning"))


def reported_columns(frame: pd.DataFrame) -> list[str]:
    """The base arm's facilitator-reported metrics present in ``frame`` (``base.reported.*``)."""
    return [c for c in frame.columns if c.startswith("base.reported.")]


def _p6_table(frame: pd.DataFrame) -> np.ndarray:
    """Per initiative (run): practical learning, attributable change, then the reported metrics.

    An initiative whose evaluation shows no activity (``base.reports_activity`` 0) reports no
    metric: its row's metrics are NaN and the statistics leave it out.
    """
    learning = frame["base.practical_learning"].to_numpy(dtype=float)
    change = attributable("base")(frame)
    reported = np.array(frame[reported_columns(frame)].to_numpy(dtype=float))  # writable
    if SHOWS_ACTIVITY in frame.columns:
        shown = frame[SHOWS_ACTIVITY].to_numpy(dtype=float) > 0
        reported[~shown] = np.nan
    return np.column_stack([learning, change, reported])


def evaluation_gap_of(frame: pd.DataFrame) -> dict[str, float]:
    """Figure 11's evaluation gap over the base arm's initiatives (one run, one initiative).

    What the population's evaluations report, the share of practical learning in initiatives
    whose evaluation never assesses learning, the share of attributable change at scale in those
    that do not report impact, and the rank correlations of what they show with both
    (:func:`simulation.evaluation_gap.evaluation_gap`). Change at scale is the change attributable
    to peer learning (the base arm minus its counterfactual), as in P6.
    """
    from simulation.evaluation_gap import evaluation_gap  # noqa: PLC0415

    rows = pd.DataFrame({
        **{c.removeprefix("base."): frame[c] for c in frame.columns
           if c.startswith("base.reports_")},
        "practical_learning": frame["base.practical_learning"],
        "orgs_changed": attributable("base")(frame),
        "events_held": frame["base.reported.events_held"],
        "reported_attendance": frame["base.reported.reported_attendance"],
    })
    return evaluation_gap(rows.to_dict("records"))


def _shown(table: np.ndarray) -> np.ndarray:
    """The initiatives whose evaluation shows the metrics (every column known)."""
    return table[np.isfinite(table).all(axis=1)]


def _p6_learning(table: np.ndarray) -> float:
    t = _shown(table)
    return r_squared(t[:, 0], t[:, 2:])


def _p6_change(table: np.ndarray) -> float:
    t = _shown(table)
    return r_squared(t[:, 1], t[:, 2:])


def _p6_more(table: np.ndarray) -> float:
    t = _shown(table)
    return r_squared(t[:, 1], t[:, [0]]) - r_squared(t[:, 1], t[:, 2:])


def r_squared(y: np.ndarray, x: np.ndarray) -> float:
    """Share of the variance of ``y`` explained by a least-squares fit on the columns of ``x``.

    With an intercept, over the rows where ``y`` and every column of ``x`` are known;
    in-sample, so it can only overstate what ``x`` says about ``y`` (a claim that it says little
    is conservative). NaN when ``y`` does not vary, ``x`` has no column or fewer than 3 rows.
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float).reshape(len(y), -1)
    known = np.isfinite(y) & np.isfinite(x).all(axis=1)
    y, x = y[known], x[known]
    if len(y) < 3:
        return np.nan
    total = float(((y - y.mean()) ** 2).sum())
    if x.shape[1] == 0 or total <= 0:
        return np.nan
    design = np.column_stack([np.ones(len(y)), x - x.mean(axis=0)])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = float(((y - design @ coef) ** 2).sum())
    return max(0.0, 1.0 - residual / total)


def _per(frame: pd.DataFrame, arm: str) -> np.ndarray:
    """Practical learning per participating official (both shares of positions).

    Not per ``engaged``: stage 1 is now a share of organisations (issue 14 §1), another unit.
    """
    participants = frame[f"{arm}.participants"].to_numpy(dtype=float)
    practical = frame[f"{arm}.practical_learning"].to_numpy(dtype=float)
    return np.divide(practical, participants, out=np.zeros_like(practical),
                     where=participants > 0)


# -- running -----------------------------------------------------------------------------------

def _collect(model: PatternModel, runs: list[tuple[int, dict, int]], executor: Any,
             workers: int | None, progress: bool | None, desc: str) -> list[RunResult]:
    results: dict[int, RunResult] = {}
    with executor_for(executor, workers) as runner:
        runner.map_runs([(model, runs)], lambda chunk: results.update((r.run_id, r) for r in chunk),
                        progress=progress, desc=desc)
    return [results[r] for r in range(len(runs))]


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
    done = _collect(model, [(r, {}, s) for r, s in enumerate(seeds)], executor, workers,
                    progress, "validate: replicates")
    frame = pd.DataFrame([r.outputs for r in done])
    frame.insert(0, "seed", np.array([r.seed for r in done], dtype=np.int64))
    frame.index.name = "replicate"
    return frame


def run_ensemble(
    model: PatternModel, sets: Sequence[int], seeds_per_set: int, seed: int = 1,
    executor: Any = "processes", workers: int | None = None, progress: bool | None = None,
) -> pd.DataFrame:
    """Run every arm for each parameter set of ``model``'s ensemble with seeds of its own.

    Seeds are independent between sets (``analysis.seeds.run_seed(seed, set, r,
    common=False)``): a seed shared by every set would move differences between sets into the
    seeds' part. Within a run every arm shares the seed, so contrasts stay paired.

    Returns:
        One row per run: ``parameter_set`` (the ensemble's row), ``seed`` and the outputs.
    """
    if isinstance(seeds_per_set, bool) or not isinstance(seeds_per_set, int) or seeds_per_set < 2:
        raise HourglassError(
            f"validate: seeds per parameter set must be an integer >= 2, got {seeds_per_set!r}")
    if len(sets) < 2:
        raise HourglassError(f"validate: needs at least 2 parameter sets, got {len(sets)}")
    plan = [(int(row), run_seed(seed, int(row), r, common=False))
            for row in sets for r in range(seeds_per_set)]
    model.check({"parameter_set": plan[0][0]})
    runs = [(i, {"parameter_set": row}, s) for i, (row, s) in enumerate(plan)]
    done = _collect(model, runs, executor, workers, progress, "validate: posterior runs")
    frame = pd.DataFrame([r.outputs for r in done])
    frame.insert(0, "seed", np.array([r.seed for r in done], dtype=np.int64))
    frame.insert(0, "parameter_set", np.array([row for row, _ in plan], dtype=np.int64))
    frame.index.name = "run"
    return frame


def evaluate(frame: pd.DataFrame, scenario: Scenario, seed: int = 0) -> pd.DataFrame:
    """The validation table: one row per criterion with estimate, 95 % interval and verdict.

    ``holds`` is each criterion's own verdict (its whole interval meets the inequality); for
    the held-out criteria :func:`correct` replaces it by Holm's. Over an ensemble (a
    ``parameter_set`` column) the unit of each interval and test is a parameter set.
    """
    rows = []
    for c in criteria(scenario):
        found = c.test(frame, seed)
        rows.append({"pattern": c.pattern, "criterion": c.name, "text": c.text,
                     **found, "holds": c.holds(found["ci_low"], found["ci_high"]),
                     "replicates": len(frame), "op": c.op, "threshold": c.threshold})
    return pd.DataFrame(rows)


def calibration_targets(frame: pd.DataFrame) -> pd.DataFrame:
    """The report's numbers (hourglass/targets.toml) against these runs, two-sided.

    Each share pooled over every run as a ratio of sums over the persons it counts (as the
    calibration pools a particle's replicates; :func:`hourglass.targets.pooled`); its
    deviation in the target's tolerance (two of the report's own standard errors).
    """
    from hourglass.targets import load_targets, pooled  # noqa: PLC0415

    runs = [{k.removeprefix("counts."): v for k, v in row.items() if k.startswith("counts.")}
            for row in frame.to_dict("records")]
    rows = []
    for name, target in load_targets().items():
        value = pooled(runs, name) if runs and name in runs[0] else np.nan
        deviation = (value - target.value) / target.tolerance
        rows.append({"pattern": target.pattern, "target": name, "text": target.text,
                     "report": target.value, "tolerance": target.tolerance, "model": value,
                     "deviation": deviation, "within": bool(abs(deviation) <= 1)})
    return pd.DataFrame(rows)


def correct(
    table: pd.DataFrame, kinds: Sequence[str], alpha: float = vs.ALPHA,
    effect: float = vs.EFFECT, power: float = vs.POWER,
) -> pd.DataFrame:
    """Holm's correction over the held-out criteria, and the units each test needs.

    Adds ``kind``, ``holds_alone`` (the criterion's own verdict), ``p_holm`` (held-out only)
    and ``units_needed`` (:func:`hourglass.validation_stats.units_for_power` at the test's
    level: ``alpha / m`` for the ``m`` held-out criteria, Holm's strictest step; ``alpha``
    otherwise). A held-out criterion ``holds`` when Holm rejects that it fails; the others
    keep their own verdict (they are not validation).
    """
    out = table.copy()
    out["kind"] = list(kinds)
    out["holds_alone"] = out["holds"].astype(bool)
    family = (out["kind"] == "held-out") & out["p_value"].notna()
    out["p_holm"] = np.nan
    reject, adjusted = vs.holm(out.loc[family, "p_value"].to_numpy(), alpha)
    out.loc[family, "p_holm"] = adjusted
    out.loc[family, "holds"] = reject
    out.loc[(out["kind"] == "held-out") & ~family, "holds"] = False
    level = np.where(family, alpha / max(1, int(family.sum())), alpha)
    out["units_needed"] = [vs.units_for_power(sd, effect, a, power)
                           for sd, a in zip(out["sd_unit"], level, strict=True)]
    out["seeds_per_set"] = [vs.seeds_per_set(b, w)
                            for b, w in zip(out["between"], out["within"], strict=True)]
    return out


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
    accepted when every per-scenario criterion that is not retired (P2-P5, P7-P9; not P1, an
    input check, nor P6's statistics across a population of initiatives) holds on its
    replicate means.

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
    from hourglass.targets import classification  # noqa: PLC0415

    kinds = classification()
    # one design point's few replicates: per-scenario criteria only (not a population's
    # statistic), and not the retired ones
    checks = [c for c in criteria(scenario) if c.kind in ("mean", "ratio")
              and kinds.get(f"{c.pattern}:{c.name}") != "retired"]
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
