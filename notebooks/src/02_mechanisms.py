# %% [markdown]
# # 2. Mechanisms: each lever over its range, one at a time
#
# An extended one-factor-at-a-time design: every lever of the baseline is moved over its whole
# allowed range while the others stay at their baseline values, with several replicates (seeds)
# per level. For each level we read the hourglass: how many peers are engaged, sustain contacts,
# learn practically and apply it at home, and how far it reaches (staff, organisations). Where a
# stage is much smaller than the one before it, the path *stalls* there (report Figure 14: each
# step is a fork).
#
# One at a time misses interactions; notebook 3 covers those with a global (Sobol') design.

# %% [parameters]
import os

QUICK = False  # True: a fast pass; HOURGLASS_QUICK=1 also sets it
QUICK = QUICK or os.environ.get("HOURGLASS_QUICK") == "1"
LEVELS = 3 if QUICK else 9  # levels per lever, evenly spaced over its allowed range
REPLICATES = 2 if QUICK else 20  # seeds per level (the same seeds at every level)
OVERRIDES = {"run.months": 24} if QUICK else {}  # quick mode: two years instead of five
EXECUTOR = "serial" if QUICK else "processes"
SEED = 1

# %%
import io

import numpy as np
import pandas as pd
from IPython.display import Image, display
from matplotlib.figure import Figure

from analysis import Space, run_sweep
from hourglass import HourglassModel
from hourglass.adapter import lever_keys
from hourglass.figures import COLOURS, LEVELS as HOURGLASS_LEVELS
from simulation import parameter_specs

STAGES = [key for key, _ in HOURGLASS_LEVELS]
model = HourglassModel("baseline", every=0, overrides=OVERRIDES)


def show(fig):
    """Display a matplotlib figure as a PNG (works with any backend)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    display(Image(buffer.getvalue()))


# %% [markdown]
# ## The runs
#
# `run_sweep` with a `grid` design over one factor evaluates `LEVELS` evenly spaced values with
# `REPLICATES` seeds each; seeds are common across levels, so differences between levels are not
# seed noise.

# %%
specs = parameter_specs()
baseline_values = model.scenario()
frames = []
for lever in lever_keys():
    spec = specs[lever]
    sweep = run_sweep(model, Space({lever: (spec.low, spec.high)}), design="grid",
                      samples=LEVELS, replicates=REPLICATES, seed=SEED, executor=EXECUTOR,
                      workers=2, progress=False)
    runs = sweep.runs.rename(columns={lever: "value"})[["value", "replicate", *STAGES]]
    frames.append(runs.assign(lever=lever.removeprefix("levers.")))
runs = pd.concat(frames, ignore_index=True)
summary = runs.groupby(["lever", "value"])[STAGES].agg(["mean", "std"])
print(f"{len(runs)} runs: {runs['lever'].nunique()} levers x {LEVELS} levels x {REPLICATES} seeds")

# %% [markdown]
# ## Each lever's hourglass over its range
#
# One panel per lever; lines are replicate means, bands plus and minus one standard deviation;
# the dotted line marks the baseline value.

# %%
levers = list(runs["lever"].unique())
cols = 4
fig = Figure(figsize=(4 * cols, 3.3 * int(np.ceil(len(levers) / cols))), layout="constrained")
axes = fig.subplots(int(np.ceil(len(levers) / cols)), cols, squeeze=False).ravel()
for ax, lever in zip(axes, levers):
    table = summary.loc[lever]
    for (key, label), colour in zip(HOURGLASS_LEVELS, COLOURS):
        mean, sd = table[(key, "mean")], table[(key, "std")].fillna(0)
        ax.plot(table.index, mean, color=colour, label=label.replace("\n", " "))
        ax.fill_between(table.index, mean - sd, mean + sd, color=colour, alpha=0.15, lw=0)
    ax.axvline(baseline_values[f"levers.{lever}"], color="grey", ls=":", lw=1)
    ax.set_title(lever.replace("_", " "))
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
for ax in axes[len(levers):]:
    ax.axis("off")
axes[0].legend(fontsize=7, loc="best")
fig.supylabel("share at the end")
show(fig)

# %% [markdown]
# ## Where the path stalls
#
# The pass rate of a step is the share reaching a stage divided by the share reaching the stage
# before it (engaged → sustained contacts → practical learning → applied). The step with the
# lowest pass rate is where the hourglass is narrowest. The table gives, for each lever at its
# lowest and highest value, the pass rate of each step and the narrowest one.

# %%
steps = {
    "engaged → sustained": ("engaged", "sustained_contacts"),
    "sustained → practical": ("sustained_contacts", "practical_learning"),
    "practical → applied": ("practical_learning", "applied"),
}
means = runs.groupby(["lever", "value"])[STAGES].mean()
rates = pd.DataFrame({
    name: np.where(means[before] > 0, means[after] / means[before].where(means[before] > 0), np.nan)
    for name, (before, after) in steps.items()
}, index=means.index)
ends = rates.groupby("lever", group_keys=False).apply(lambda t: t.iloc[[0, -1]])
# A step nobody reaches the start of (NaN) cannot be the narrowest: the path stalled before it.
ends["narrowest step"] = ends[list(steps)].fillna(np.inf).idxmin(axis=1)
ends.round(2)

# %% [markdown]
# ## What to look for
#
# * Under the baseline, engagement is not the bottleneck: events engage almost everyone. The
#   narrow steps are sustained contacts and practical learning (pattern P2, "a weak link").
# * Levers that act on ties (trust, matching, peer contracts, community of practice, turnover)
#   should move the middle of the hourglass; levers on the home side (share forward, home
#   openness, dissemination) the bottom: staff reached and organisations changed (pattern P7:
#   lacking either side, individual learning does not reach the organisation).
# * Turnover works against every stage after engagement: a successor starts again.
#
# The figure and table above are what this execution measured; in quick mode (few seeds, two
# years) they are noisy and only show that the notebook runs.
