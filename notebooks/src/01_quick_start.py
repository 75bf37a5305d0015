# %% [markdown]
# # 1. Quick start: one run of the typical initiative
#
# The Hourglass model follows officials from facilitated events, through sustained contacts with
# peers and practical learning, to change at scale in their home organisations (Andrews & Manning
# 2015, Figures 1 and 14). This notebook runs the baseline scenario (the typical, event-focused
# initiative the report mapped), reads its hourglass figure, and changes one lever.

# %% [parameters]
import os

QUICK = False  # True: a fast pass (fewer seeds, shorter runs); HOURGLASS_QUICK=1 also sets it
QUICK = QUICK or os.environ.get("HOURGLASS_QUICK") == "1"
SEED = 1
SEEDS = range(1, 4) if QUICK else range(1, 21)  # replicates for the comparison at the end

# %%
import io
import tempfile
from pathlib import Path

import pandas as pd
from IPython.display import Image, display

from hourglass.figures import plot_hourglass
from simulation import PeerLearningModel, Scenario

FIGURES = Path(tempfile.mkdtemp())  # figures are shown inline; the files are scratch
STAGES = ["engaged", "sustained_contacts", "practical_learning", "applied", "staff_reached",
          "orgs_changed"]


def show(fig):
    """Display a matplotlib figure as a PNG (works with any backend)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    display(Image(buffer.getvalue()))


# %% [markdown]
# ## The baseline
#
# `Scenario.load("baseline")` reads `scenarios/baseline.toml`: Figure 7's tool frequencies, peers
# nominated by position, no peer contracts and no community of practice. Every random draw comes
# from the model's generator, seeded by `rng`, so this run is reproducible bit for bit.

# %%
baseline = Scenario.load("baseline")
print(baseline.description)
result = PeerLearningModel(baseline, rng=SEED).run()
pd.Series({k: result.summary[k] for k in STAGES}, name="share at the end").round(3)

# %% [markdown]
# ## Reading the hourglass
#
# Left: the share of peers reaching each stage in the final month, drawn as centred bars, so the
# figure narrows where the path stalls. The top four bars are shares of peers (engaged, sustained
# individual contacts, practical learning, learning applied at home); the last two are the share
# of the organisations' staff who adopted a lesson and the share of organisations changed at
# scale. Right: the same shares month by month.

# %%
path = plot_hourglass(result, FIGURES / "01_baseline_hourglass.png")
display(Image(filename=str(path)))

# %% [markdown]
# Nearly everyone is engaged by the events, far fewer sustain contacts with a peer, and fewer
# still learn practically: the weak link the report names ("moving from sustained individual
# contact to practical peer learning is a weak link", pattern P2). The monthly table behind the
# figure is `result.timeseries`:

# %%
result.timeseries[["month", *STAGES]].iloc[5::6].round(3)

# %% [markdown]
# ## Changing one lever
#
# `with_overrides` changes dotted scenario keys. Here peer contracts (report P9: peers commit to
# keep in touch and to report back) cover half of the new ties. One run is one draw; to see the
# effect rather than the noise, run both scenarios on the same seeds and look at the paired
# differences (common random numbers).

# %%
contracts = baseline.with_overrides({"levers.peer_contracts": 0.5})
rows = []
for seed in SEEDS:
    for name, scenario in (("baseline", baseline), ("peer contracts 0.5", contracts)):
        summary = PeerLearningModel(scenario, rng=seed).run().summary
        rows.append({"scenario": name, "seed": seed, **{k: summary[k] for k in STAGES}})
runs = pd.DataFrame(rows)
means = runs.groupby("scenario")[STAGES].mean().T
means["difference"] = means["peer contracts 0.5"] - means["baseline"]
means.round(3)

# %%
from matplotlib.figure import Figure

fig = Figure(figsize=(8, 3.5), layout="constrained")
ax = fig.add_subplot()
means[["baseline", "peer contracts 0.5"]].plot.barh(ax=ax)
ax.invert_yaxis()
ax.set_xlabel(f"mean share at the end ({len(SEEDS)} seeds)")
ax.set_title("One lever: peer contracts on half of the new ties")
show(fig)

# %% [markdown]
# Next: notebook 2 moves each lever over its whole range, notebook 3 measures which levers
# matter most (global sensitivity), and notebook 4 compares interventions with intervals.
# The browser explorer (`hourglass explore`) lets you do the same interactively.
