# %% [markdown]
# # 3. Sensitivity: which levers matter, for which stage
#
# A global sensitivity analysis moves all factors at once over their whole ranges, so it also
# captures interactions that notebook 2 (one at a time) misses. The factors are those of
# `hourglass/spaces/levers.toml`, the default of `hourglass sensitivity`: every lever, plus one factor per
# tool function (interaction, knowledge, sharing, reflection; report Table 2) that sets all
# tools of that function to the same intensity.
#
# * **Sobol' indices** (variance-based): S1 is the share of an outcome's variance a factor explains
#   alone, ST the share it is involved in, interactions included.
# * **Morris screening** (elementary effects): mu* is the mean absolute effect of moving a factor,
#   sigma how much that effect depends on the other factors. Cheap; good for ranking.
#
# **Over the posterior, by default.** The levers are analysed over the calibrated model's
# posterior ensemble (`hourglass calibrate`; shipped with the package, docs/calibration.md): the
# parameter set is one more factor, so its indices show how much of each outcome's variance comes
# from what we do not know about the world, beside each lever's. At the end, each outcome's
# variance at the baseline's own levers is split between parameter sets (what we do not know) and
# seeds (chance). `POSTERIOR = False` keeps the point defaults (faster, and without that part).

# %% [parameters]
import os

QUICK = False  # True: a fast pass; HOURGLASS_QUICK=1 also sets it
QUICK = QUICK or os.environ.get("HOURGLASS_QUICK") == "1"
SOBOL_N = 8 if QUICK else 128  # Sobol' base samples (a power of 2); runs = N x (k + 2) x R
TRAJECTORIES = 4 if QUICK else 24  # Morris trajectories; runs = T x (k + 1) x R
REPLICATES = 1 if QUICK else 3  # seeds per design point (averaged)
OVERRIDES = {"run.months": 24} if QUICK else {}
EXECUTOR = "serial" if QUICK else "processes"
SEED = 1
POSTERIOR = True  # over the shipped posterior ensemble; False: the scenario's point defaults
SETS = 4 if QUICK else 20  # parameter sets drawn from the ensemble

# %%
import io

from IPython.display import Image, display

from analysis import morris, run_sweep, sobol, table
from analysis.plots import heatmap, morris_scatter, sobol_bars
from analysis.space import Discrete, Space
from analysis.uncertainty import run_ensemble
from analysis.uncertainty_plots import ensemble_figure, split_bars
from hourglass import HourglassModel, lever_space
from hourglass.calibration import shipped_posterior
from hourglass.posterior import BY, draw

OUTCOMES = ["engaged", "sustained_contacts", "practical_learning", "applied", "staff_reached",
            "orgs_changed"]
posterior = shipped_posterior() if POSTERIOR else None
if POSTERIOR and posterior is None:
    print("no posterior ships with this installation: running at the point defaults")
if posterior is not None:
    import pandas as pd

    size = len(pd.read_parquet(posterior))
    sets = draw(size, SETS, SEED)  # the same rows hourglass sensitivity --seed 1 draws
    # The posterior was calibrated on the baseline, so every key of a set applies to it.
    model = HourglassModel("baseline", every=0, overrides=OVERRIDES, parameter_sets=posterior)
    space = Space({**lever_space().factors, BY: Discrete("choice", sets)},
                  source="levers and parameter sets")
    print(f"{len(sets)} of {size} parameter sets from {posterior.name}")
else:
    model = HourglassModel("baseline", every=0, overrides=OVERRIDES)
    space = lever_space()


def show(fig):
    """Display a matplotlib figure as a PNG (works with any backend)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    display(Image(buffer.getvalue()))


print(f"{space.dim} factors: {', '.join(space.names)}")

# %% [markdown]
# ## Sobol' indices
#
# A Saltelli design of `SOBOL_N` base samples; each design point is run with `REPLICATES` seeds
# and the indices are computed from the replicate means. Intervals are 95 % bootstrap intervals.

# %%
sobol_sweep = run_sweep(model, space, design="sobol", samples=SOBOL_N, replicates=REPLICATES,
                        seed=SEED, executor=EXECUTOR, workers=2, progress=False)
print(f"{sobol_sweep.n_runs} runs")
indices = sobol(sobol_sweep, "orgs_changed")
indices.round(3)

# %%
show(sobol_bars(indices, title="Organisations changed at scale: Sobol' indices"))

# %% [markdown]
# ## Every stage at once
#
# Total-order indices, factors by outcomes: read down a column to see which factors drive a stage,
# across a row to see which stages a factor reaches.

# %%
totals = table(sobol_sweep, outputs=OUTCOMES)
show(heatmap(totals, title="Total-order Sobol' index ST, factor x outcome"))
totals.round(2)

# %% [markdown]
# ## Morris screening
#
# An independent, cheaper design. Factors far right matter; factors high up act through
# interactions or non-linearly. The ranking should agree with ST above; where it does not, the
# Sobol' sample is too small (raise `SOBOL_N`).

# %%
morris_sweep = run_sweep(model, space, design="morris", samples=TRAJECTORIES,
                         replicates=REPLICATES, seed=SEED, executor=EXECUTOR, workers=2,
                         progress=False)
screening = morris(morris_sweep, "orgs_changed")
show(morris_scatter(screening, title="Organisations changed at scale: Morris screening"))
ranks = screening["mu_star"].rank(ascending=False).to_frame("Morris rank").join(
    indices["ST"].rank(ascending=False).rename("Sobol' ST rank"))
ranks.sort_values("Morris rank")

# %% [markdown]
# ## Chance as a factor
#
# Above, each design point averages `REPLICATES` seeds, so chance is mostly averaged away. Made
# one more factor of the design instead (`seed_factor=True`: one run a design row, its seed taken
# from the design's `chance` column and shared where Saltelli's estimator compares rows), the seed
# gets indices of its own: the share of each outcome's variance that is chance, beside the
# levers' and the parameter set's. This is what `hourglass sensitivity` does by default
# (docs/uncertainty.md), at one run a row instead of `REPLICATES`.

# %%
chance_sweep = run_sweep(model, space, design="sobol", samples=SOBOL_N, replicates=1,
                         seed_factor=True, seed=SEED, executor=EXECUTOR, workers=2,
                         progress=False)
print(f"{chance_sweep.n_runs} runs")
with_chance = table(chance_sweep, outputs=OUTCOMES)
show(heatmap(with_chance, title="Total-order Sobol' index ST, the seed a factor (chance)"))
with_chance.round(2)

# %% [markdown]
# Read it like the table above, with chance as one more row. At a small `SOBOL_N` the estimates
# are rough (a total index above 1 is estimation error); the default analysis at N = 1024 gives
# each with its interval (README, "What drives change at scale"). Because the seed is
# independent of the other factors, a factor's first-order share of the *expected* outcome is
# its S1 divided by 1 - ST(chance).

# %% [markdown]
# The same analysis from the command line, with results stored and resumable:
# `hourglass sensitivity` (see `hourglass sensitivity --help`).

# %% [markdown]
# ## Two kinds of uncertainty
#
# At the baseline's own levers, each drawn parameter set is run with seeds of its own, and each
# outcome's variance is split (a one-way random-effects model, `analysis/uncertainty.py`):
# **between parameter sets**, what we do not know about the world (the posterior's spread), and
# **between seeds**, chance. A finding whose variance is mostly between sets depends on the
# guesses calibration could not pin down, however many seeds are run.

# %%
if posterior is not None:
    split, runs = run_ensemble(model, sets, 2 if QUICK else 10, outcomes=OUTCOMES, seed=SEED,
                               executor=EXECUTOR, workers=2, progress=False)
    show(split_bars(split, title="Share of each outcome's variance between parameter sets"))
    show(ensemble_figure(runs, split, "baseline: outcomes by parameter set", outcomes=OUTCOMES))
    display(split.round(4))
else:
    print("point defaults: no parameter sets to split over")
