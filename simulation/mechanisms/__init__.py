"""The model's submodels, one module each, in the order of the monthly schedule (docs/ODD.md §7).

1. ``turnover``: officials leave post and successors arrive; colleagues come and go.
2. ``events``: the facilitator's tools this month: attendance, encounters, new ties, codified
   knowledge, reflection sessions.
3. ``contact``: self-initiated and contract contact, trust, ties lost.
4. ``transfer``: knowledge flows over contacted ties by learning type; community of practice.
5. ``reflection``: exposure becomes practical learning.
6. ``diffusion``: share forward into home organisations, spread through staff networks, change at
   scale.
7. ``evaluation``: the hourglass stages and the facilitator's reported metrics, observed.
"""
