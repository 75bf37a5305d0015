"""The model's vocabulary: the learning types, the hourglass stages and the profile factors.

Defined once here; every other module imports them from this one.
"""

from __future__ import annotations

# Report: practical peer learning about technical change, flexibility and humility, political
# savvy and constructive subversion (Figure 13, objective 3).
LEARNING_TYPES = ("technical", "flexibility", "political", "subversion")
N_TYPES = len(LEARNING_TYPES)

# The hourglass stages, in order (report Figures 1, 13 and 14): an organisation's peer group
# foundational engagement, then an official's sustained contacts, practical learning and its
# application at home. Their definitions, as observer thresholds, are in simulation/stages.py.
STAGES = ("engaged", "sustained_contacts", "practical_learning", "applied")

# The paths to practical learning the model allows (simulation/mechanisms/reflection.py): with
# sustained contacts (report Figure 13), or by reflection tools alone (report Table 2).
PATHS = ("contacts", "reflection")

# Matching factors (report Figure 6): problems, goals, tasks, social standing, career level,
# education; a profile holds one category of each, in this order.
N_FACTORS = 6
