"""The statistics of ``hourglass validate``: one-sided tests, Holm's correction, replicate counts.

A criterion is an inequality ``value > threshold`` (or ``<``). Its test is one-sided: the null
hypothesis is that the pattern does not hold (the true value is on the wrong side of the
threshold, or on it). The p-values of the held-out criteria are corrected together with Holm's
step-down method (Holm 1979; ``statsmodels.stats.multitest``) at a family-wise level
:data:`ALPHA` = 0.025, the one side of a 95 % interval: a criterion tested alone holds exactly
when its whole 95 % interval meets the inequality, as before the correction.

The unit of a test is what is independent: a run at the point defaults, a parameter set over the
posterior (its seeds averaged). How many units a test needs comes from a power calculation for a
one-sample one-sided t-test (``statsmodels.stats.power.TTestPower``) from the unit's observed
standard deviation and the smallest margin worth detecting; how many seeds a parameter set
should get from the classical optimal allocation of a two-stage sample (Cochran 1977,
*Sampling Techniques*, 3rd ed., §10.6): with a new set costing what a new seed costs,
``n = sqrt(within / between)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

ALPHA = 0.025
POWER = 0.8
# The smallest margin beyond a threshold worth detecting, in the criterion's own unit (shares of
# people, organisations or colleagues; a ratio; an R^2): five points. The report cannot resolve
# finer: one binomial standard error of a share near one half among its 84 learners is 0.055
# (52 facilitators: 0.069). A choice of the validation's design, not of the model.
EFFECT = 0.05
MAX_UNITS = 1_000_000


def p_one_sided_t(values: np.ndarray, threshold: float, op: str) -> float:
    """One-sided p-value of a one-sample t-test that the mean lies beyond ``threshold``.

    Args:
        values: One value per independent unit (NaN dropped).
        threshold: The bound of the inequality.
        op: ``">"`` or ``"<"``.

    Returns:
        The p-value; 1.0 when fewer than 2 finite values (nothing shown is not a pass); 0 or 1
        when the values do not vary (the inequality is then met or not exactly).
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return 1.0
    sign = 1.0 if op == ">" else -1.0
    margin = sign * (x.mean() - threshold)
    sd = x.std(ddof=1)
    if sd == 0:
        return 0.0 if margin > 0 else 1.0
    from scipy import stats  # noqa: PLC0415 - the CLI reads this module's defaults at start

    t = margin / (sd / math.sqrt(len(x)))
    return float(stats.t.sf(t, len(x) - 1))


def p_one_sided_bootstrap(point: float, boot: np.ndarray, threshold: float, op: str) -> float:
    """One-sided bootstrap p-value: the share of resamples on the wrong side of ``threshold``.

    Percentile-interval duality: the p-value is below ``a`` exactly when the one-sided
    ``1 - a`` percentile bound lies beyond the threshold. ``(count + 1) / (B + 1)`` keeps it
    above zero (Davison & Hinkley 1997, eq. 4.11). Undefined estimates (NaN) count as wrong.
    """
    b = np.asarray(boot, dtype=float)
    if not np.isfinite(point) or len(b) == 0:
        return 1.0
    wrong = ~np.isfinite(b) | ((b <= threshold) if op == ">" else (b >= threshold))
    return float((wrong.sum() + 1) / (len(b) + 1))


def holm(p_values: Sequence[float], alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down correction of a family of p-values.

    Args:
        p_values: One per criterion in the family (NaN is refused: a criterion with no test
            must be left out of the family, not counted as passing or failing silently).
        alpha: Family-wise error rate.

    Returns:
        Rejections (the criterion holds) and Holm-adjusted p-values, in the input's order.
    """
    p = np.asarray(p_values, dtype=float)
    if len(p) == 0:
        return np.zeros(0, dtype=bool), np.zeros(0)
    if not np.isfinite(p).all():
        raise ValueError("holm: every p-value must be finite")
    from statsmodels.stats.multitest import multipletests  # noqa: PLC0415 - slow import

    reject, adjusted, _, _ = multipletests(p, alpha=alpha, method="holm")
    return np.asarray(reject, dtype=bool), np.asarray(adjusted, dtype=float)


def units_for_power(
    sd: float, effect: float = EFFECT, alpha: float = ALPHA, power: float = POWER,
) -> float:
    """Independent units a one-sided one-sample t-test needs to detect a margin ``effect``.

    Args:
        sd: Standard deviation of one unit's value (a run's, or a parameter set's mean).
        effect: The true margin beyond the threshold to detect.
        alpha: The test's level (for a family under Holm, its strictest: ``alpha / m``).
        power: Wanted chance of detecting it.

    Returns:
        The smallest whole number of units (at least 2), ``inf`` beyond :data:`MAX_UNITS`,
        NaN when ``sd`` is not finite.
    """
    if not np.isfinite(sd) or not effect > 0:
        return math.nan
    if sd == 0:
        return 2.0
    from statsmodels.stats.power import TTestPower  # noqa: PLC0415 - slow import

    solver = TTestPower()
    d = effect / sd
    if solver.power(d, MAX_UNITS, alpha, alternative="larger") < power:
        return math.inf
    def enough(n: int) -> bool:
        return solver.power(d, n, alpha, alternative="larger") >= power

    # the power rises with n: double, then bisect on whole numbers (the smallest n that is
    # enough lies in (low, high])
    low, high = 1, 2
    while not enough(high):
        low, high = high, min(MAX_UNITS, 2 * high)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return float(high)


def seeds_per_set(between: float, within: float, cap: int = 1000) -> float:
    """Seeds per parameter set that minimise a mean's variance for a given number of runs.

    With ``k`` sets of ``n`` seeds the mean's variance is ``between / k + within / (k n)``;
    for a fixed budget ``k n`` it is smallest at ``n = sqrt(within / between)`` (Cochran 1977,
    §10.6, equal costs). At least 2 (the within part must be estimable), at most ``cap``;
    ``inf`` when no variance between sets was found but seeds vary (every run is then best
    spent on seeds), NaN when neither part is known.
    """
    if not (np.isfinite(between) and np.isfinite(within)):
        return math.nan
    if between <= 0:
        return math.inf if within > 0 else 2.0
    return float(min(cap, max(2, math.ceil(math.sqrt(within / between)))))
