# %% [markdown]
# # 6. Which designs work, where, and at what cost
#
# Toolkit designers ask "what should our initiative do?". This notebook answers in two steps,
# with the same tools as `hourglass discover` and `hourglass design` (docs/designs.md).
#
# 1. **Scenario discovery.** Over a sweep of every lever and tool group of the baseline
#    (`hourglass/spaces/levers.toml`), under which conditions does an initiative reach change at
#    scale (`orgs_changed >= 0.05`, at least one home organisation in twenty)? Each design point is
#    run with several seeds; its outcome is the *share of its replicates* meeting the target.
#    PRIM (EMA Workbench) peels a box of conditions where that share is high, and reports the
#    box's own interval over the runs inside it; a classification tree (CART) is grown beside it.
# 2. **Design search under a budget.** Every tool use and facilitator lever costs facilitator
#    time, venues and travel (`hourglass/costs.toml`, each value sourced or marked an
#    assumption). NSGA-II (pymoo) searches tool mixes and facilitator choices for the Pareto
#    front of change at scale against cost, scoring each design by the *25th percentile* over
#    its runs (a design that works only on lucky seeds does not score), with the same seeds for
#    every design.
#
# The costs are assumptions about ratios, not a budget: read the front as "what buys more change
# per dollar", and re-run it with an initiative's own cost table.

# %% [parameters]
import os

QUICK = False  # True: a fast pass; HOURGLASS_QUICK=1 also sets it
QUICK = QUICK or os.environ.get("HOURGLASS_QUICK") == "1"
SAMPLES = 32 if QUICK else 128  # discovery: Latin hypercube points over the lever space
REPLICATES = 2 if QUICK else 8  # discovery: seeds per point
POPULATION = 6 if QUICK else 24  # design search: NSGA-II population
GENERATIONS = 2 if QUICK else 12  # design search: generations
DESIGN_REPLICATES = 2 if QUICK else 8  # design search: seeds per design (the same for all)
OVERRIDES = {}  # fixed scenario overrides for every run, e.g. {"run.months": 36}
EXECUTOR = "serial" if QUICK else "processes"
SEED = 1

# %%
import io
import tempfile
from pathlib import Path

from IPython.display import Image, display

from analysis import run_sweep
from analysis.space import Space
from hourglass import HourglassModel, lever_space
from hourglass.costs import load_costs
from hourglass.design import DESIGN_SPACE, front_figure, front_table, scenario_text, search
from hourglass.discovery import discover, parse_target, tradeoff_figure
from simulation import PeerLearningModel, Scenario


def show(fig):
    """Display a matplotlib figure as a PNG (works with any backend)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    display(Image(buffer.getvalue()))


model = HourglassModel("baseline", every=0, overrides=OVERRIDES)

# %% [markdown]
# ## 1. Where does change at scale happen?
#
# A Latin hypercube over the lever space, `REPLICATES` seeds per point (the same seeds at every
# point). `hourglass discover STORE` does the same on any sweep store, with `--sweep` to run
# one first.

# %%
sweep = run_sweep(model, lever_space(), "lhs", SAMPLES, REPLICATES, seed=SEED,
                  executor=EXECUTOR, workers=2, progress=False)
found = discover(sweep, "orgs_changed", parse_target(">=0.05"))
overall = found.overall()
print(f"{sweep.n_runs} runs; {overall['hits']} meet the target "
      f"({overall['share']:.2f}, 95 % interval {overall['low']:.2f}-{overall['high']:.2f})")
for box in found.boxes:
    s = box.stats
    print(f"box {box.number}: {box.words}")
    print(f"  share of runs meeting the target inside: {s['density']:.2f} "
          f"({s['low']:.2f}-{s['high']:.2f}, {s['runs']} runs); coverage {s['coverage']:.2f}")

# %% [markdown]
# The coverage/density trade-off: each point is a box on PRIM's peeling trajectory (more
# restricted boxes to the left), with the density's interval over the runs inside; the ringed
# point is the box reported above (the densest with at least half the coverage).

# %%
show(tradeoff_figure(found))

# %% [markdown]
# The classification tree's leaves, best first: an independent reading of the same runs.

# %%
found.tree.leaves.round(3)

# %% [markdown]
# ## 2. The front of change at scale against cost
#
# Tool intensities and facilitator levers (`hourglass/spaces/design.toml`); conditions the
# facilitator does not choose (trust, turnover, share-forward, openness) stay at the baseline's
# values. Grey: every design evaluated; blue: the front, each point's bar the interquartile range
# of its runs; red star: the baseline as it is, costed the same way.

# %%
result = search(model, Space.from_toml(DESIGN_SPACE), load_costs(), objective="orgs_changed",
                quantile=0.25, population=POPULATION, generations=GENERATIONS,
                replicates=DESIGN_REPLICATES, seed=SEED, executor=EXECUTOR, workers=2,
                progress=False)
show(front_figure(result))
base = result.base.iloc[0]
print(f"{len(result.evaluated)} designs; baseline: cost {base['cost']:,.0f} USD, "
      f"25th percentile {base['score']:.2f}")

# %%
table = front_table(result)
table[["point", "cost", "score", "q25", "median", "q75"]].round(3)

# %% [markdown]
# What the front designs choose (intensities 0-1 of each tool, the facilitator levers):

# %%
choices = [c for c in table.columns if c.startswith(("tools.", "levers.", "facilitator."))]
table.set_index("point")[choices].T.map(lambda v: round(v, 2) if isinstance(v, float) else v)

# %% [markdown]
# Each front point is a scenario file: `hourglass design` writes them to
# `results/design/report/scenarios/`. Here the best point is written, loaded and run once more.

# %%
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "best.toml"
    key = result.front.index[-1]
    path.write_text(scenario_text(result, key, len(result.front)), encoding="utf-8")
    scenario = Scenario.load(path)
    run = PeerLearningModel(scenario, rng=result.seeds[0]).run()
print(scenario.description)
print(f"one run: orgs_changed {run.summary['orgs_changed']:.2f}")
