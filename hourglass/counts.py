"""What the report counts, counted in a run (issue 14 §3): a month observer of the model.

The report's numbers are shares of the 84 surveyed peer learners and of the participants of an
initiative. :class:`RunCounts` watches a :class:`simulation.PeerLearningModel` through its
observation seam (``month_observers``: each month's :class:`MonthRecord`, and the state at the end
of the month, read and never written) and counts the same things, per *person* (an official in
post; a successor in the same position is another person), over the whole run:

The survey's numbers (P4, F2) are of its respondents, read in the model as the **peer learners**:
persons who learned from a peer — a productive conversation with a peer raised their exposure
(``experiential`` below), or they learned in practice (``practical``). The questionnaire asked
"If you have learned from a peer, could you describe the learning experience ... (please describe
the most memorable experience)" (the report's annex, item 4): learning of any kind from a peer,
not only the hourglass's third stage. An earlier reading counted practical learners alone; the
first calibration found three of its six targets unable to move under any prior value (practical
learning needs a sustained contact, so every such learner's engagement spanned months and several
tools) and 74-80 % of runs without a single respondent, so that seed noise decided acceptances.
The reading was revised, with this reason, before the calibration now shipped
(docs/calibration.md, "Who the respondents are").

* ``p4_multi_tool`` — share of peer learners who took part in more than one tool
  (report: "Over 90% of these respondents identified more than one 'tool'").
* ``p4_mean_tools`` — their mean number of distinct tools ("The average number of 'tools' engaged
  with ... was more than 3").
* ``p4_weeks`` — share of peer learners whose engagement, from their first to their last
  month with contact (formal or informal) with another peer, spans at least two months: in a
  monthly model, the nearest to "took place over a few weeks or more" (over three quarters). A
  learner whose contacts all fall in one month counts as one interaction.
* ``p4_year`` — the same span at least twelve months ("lasted for one year or more": 45 %).
* ``f2_matched`` — share of peer learners whose main peer (the peer they had contact with in
  most months; ties: the latest contact, then the lower person id) shares at least half of the
  six matching factors with them (Figure 6's factors; similarity >= 0.5 at their last contact).
  This is the model's reading of "specifically matched individuals" (F2: 60 %): the report asks
  whom learners see as peers, the model can only say whether the peer they learned with was
  similar; two random profiles share half their factors about a third of the time (3 categories).
* ``p8_share_nothing`` — share of participants (persons who took part in some tool) who never
  shared a lesson at home: their own node in the staff network never held an adopted lesson at
  the end of a month while they were in post (Figure 12: three of five share nothing).

* ``f10_experiential`` — share of practical learners whose exposure a conversation with a peer
  raised at least once (a productive conversation, peer to peer: the report's "experiential
  knowledge sharing ... where tacit knowledge is shared between peers").
* ``f10_formal`` — share of practical learners whose exposure codified knowledge (a tool's
  broadcast: knowledge products, training, publications) raised at least once (the report's
  "formal knowledge sharing (through documentation)").

Figure 10 ranks learners' gains: experiential first ("the vast majority"), then formal, then
collaboration and support. The first two are channels the model has, counted above, so their
order can be compared with the report's (a held-out check: no calibration target uses it). They
are counted over the practical learners: over the peer learners the experiential channel would be
first by the definition of a peer learner.
Collaboration and support are not modelled and are not counted: left unobserved rather than
imitated.

Persons count from the month they are first seen to the end of the run or their departure, so a
person who joins late has had less time to use tools, sustain contacts and share: the counts are
of the run's horizon, as the report's are of its respondents' experience.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

MATCHED_SIMILARITY = 0.5
"""Share of equal matching factors from which a peer counts as matched (assumption)."""
WEEKS_MONTHS = 2
"""Months of span (first to last contact, inclusive) read as "a few weeks or more"."""
YEAR_MONTHS = 12
"""Months of span read as "one year or more"."""

COUNT_KEYS = (
    "p4_learners", "p4_multi_tool", "p4_mean_tools", "p4_weeks", "p4_year",
    "f2_matched", "p8_participants", "p8_share_nothing", "p4_practical", "f10_experiential",
    "f10_formal",
)
"""Outputs of :meth:`RunCounts.outputs`: denominators (``*_learners``, ``*_participants``, as
counts of persons) and shares (NaN when the denominator is 0)."""
SHARE_KEYS = ("p4_multi_tool", "p4_mean_tools", "p4_weeks", "p4_year", "f2_matched",
              "p8_share_nothing", "f10_experiential", "f10_formal")
DENOMINATOR = {
    "p4_multi_tool": "p4_learners", "p4_mean_tools": "p4_learners", "p4_weeks": "p4_learners",
    "p4_year": "p4_learners", "f2_matched": "p4_learners", "p8_share_nothing": "p8_participants",
    "f10_experiential": "p4_practical", "f10_formal": "p4_practical",
}
"""The count of persons each share is of (so replicates pool as ratios of sums)."""


@dataclass
class _Persons:
    """Per-person columns, appended as persons leave or the run ends."""

    tools: list[np.ndarray] = field(default_factory=list)
    first: list[np.ndarray] = field(default_factory=list)
    last: list[np.ndarray] = field(default_factory=list)
    attended: list[np.ndarray] = field(default_factory=list)
    practical: list[np.ndarray] = field(default_factory=list)
    shared: list[np.ndarray] = field(default_factory=list)
    experiential: list[np.ndarray] = field(default_factory=list)
    formal: list[np.ndarray] = field(default_factory=list)
    person: list[np.ndarray] = field(default_factory=list)

    def append(self, rows: dict[str, np.ndarray]) -> None:
        for name, values in rows.items():
            getattr(self, name).append(values)

    def frame(self) -> dict[str, np.ndarray]:
        return {name: np.concatenate(values) if values else np.zeros(0)
                for name, values in self.__dict__.items()}


class RunCounts:
    """Month observer counting the report's numbers over one run.

    Args:
        model: The model to watch; the observer adds itself to ``model.month_observers``.

    Example:
        >>> from simulation import PeerLearningModel
        >>> model = PeerLearningModel(rng=1)
        >>> counts = RunCounts(model)
        >>> _ = model.run()
        >>> sorted(counts.outputs())[:2]
        ['f2_matched', 'p4_learners']
    """

    def __init__(self, model: Any) -> None:
        self._state = model.state
        n = len(model.state.peers.person)
        self._person = model.state.peers.person.copy()
        self._tools = np.zeros(n, dtype=np.int64)
        self._first = np.full(n, -1, dtype=np.int64)
        self._last = np.full(n, -1, dtype=np.int64)
        self._attended = np.zeros(n, dtype=bool)
        self._practical = np.zeros(n, dtype=bool)
        self._shared = np.zeros(n, dtype=bool)
        self._experiential = np.zeros(n, dtype=bool)
        self._formal = np.zeros(n, dtype=bool)
        self._done = _Persons()
        # Contacts between persons: one row per pair and month (person a < person b).
        self._pairs: list[np.ndarray] = []
        model.month_observers.append(self.observe)

    def _current(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {"tools": self._tools[rows].copy(), "first": self._first[rows].copy(),
                "last": self._last[rows].copy(), "attended": self._attended[rows].copy(),
                "practical": self._practical[rows].copy(), "shared": self._shared[rows].copy(),
                "experiential": self._experiential[rows].copy(),
                "formal": self._formal[rows].copy(), "person": self._person[rows].copy()}

    def observe(self, record: Any) -> None:
        """Take one month's record (and the state at the end of that month)."""
        replaced = np.flatnonzero(record.person != self._person)
        if len(replaced):
            # The leavers' persons are complete as of last month.
            self._done.append(self._current(replaced))
            self._person = self._person.copy()
            self._person[replaced] = record.person[replaced]
            for column, empty in ((self._tools, 0), (self._first, -1), (self._last, -1),
                                  (self._attended, False), (self._practical, False),
                                  (self._shared, False), (self._experiential, False),
                                  (self._formal, False)):
                column[replaced] = empty
        peers, staff = self._state.peers, self._state.staff
        self._tools |= record.tools
        self._attended |= record.attended
        self._experiential |= record.productive
        self._formal |= record.codified
        self._practical |= peers.practical
        self._shared |= staff.adopted[peers.staff_node].any(axis=1)
        contact = record.formal | record.informal
        active = contact.any(axis=1)
        self._first[active & (self._first < 0)] = record.month
        self._last[active] = record.month
        a, b = np.nonzero(np.triu(contact, 1))
        if len(a):
            profile = peers.profile
            similarity = (profile[a] == profile[b]).mean(axis=1)
            pa, pb = record.person[a], record.person[b]
            self._pairs.append(np.column_stack([
                np.minimum(pa, pb), np.maximum(pa, pb), np.full(len(a), record.month),
                similarity,
            ]))

    def persons(self) -> dict[str, np.ndarray]:
        """Every person seen so far, one entry each: tools mask, contact span, flags, main peer.

        Returns:
            Arrays by name: ``person``, ``tools`` (count of distinct tools), ``span`` (months
            from first to last contact, inclusive; 0: never), ``attended``, ``practical``,
            ``shared``, ``experiential`` and ``formal`` (exposure raised by a peer, by codified
            knowledge) and ``matched`` (main peer similar; False without contact).
        """
        done = self._done.frame()
        now = self._current(np.arange(len(self._person)))
        cols = {k: np.concatenate([done[k], now[k]]) if len(done[k]) else now[k] for k in now}
        person = cols["person"].astype(np.int64)
        tools = np.array([bin(int(m)).count("1") for m in cols["tools"]], dtype=np.int64)
        first, last = cols["first"].astype(np.int64), cols["last"].astype(np.int64)
        span = np.where(first < 0, 0, last - first + 1)
        return {
            "person": person, "tools": tools, "span": span,
            "attended": cols["attended"].astype(bool),
            "practical": cols["practical"].astype(bool),
            "shared": cols["shared"].astype(bool),
            "experiential": cols["experiential"].astype(bool),
            "formal": cols["formal"].astype(bool),
            "matched": self._matched(person),
        }

    def _matched(self, person: np.ndarray) -> np.ndarray:
        """Whether each person's main peer shares at least half their matching factors."""
        matched = np.zeros(len(person), dtype=bool)
        if not self._pairs:
            return matched
        rows = np.concatenate(self._pairs)
        a, b = rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64)
        month, sim = rows[:, 2].astype(np.int64), rows[:, 3]
        # Both directions, then per (person, partner): months of contact, last month, similarity
        # at the last contact.
        me = np.concatenate([a, b])
        other = np.concatenate([b, a])
        month2, sim2 = np.concatenate([month, month]), np.concatenate([sim, sim])
        order = np.lexsort((month2, other, me))
        me, other, month2, sim2 = me[order], other[order], month2[order], sim2[order]
        new = np.r_[True, (me[1:] != me[:-1]) | (other[1:] != other[:-1])]
        start = np.flatnonzero(new)
        end = np.r_[start[1:], len(me)] - 1
        pair_me, pair_other = me[start], other[start]
        months = end - start + 1
        last, last_sim = month2[end], sim2[end]
        # Main peer: most months, then the latest contact, then the lower person id.
        pick = np.lexsort((pair_other, -last, -months, pair_me))
        pair_me, last_sim = pair_me[pick], last_sim[pick]
        first_of = np.r_[True, pair_me[1:] != pair_me[:-1]]
        main = dict(zip(pair_me[first_of].tolist(), last_sim[first_of].tolist(), strict=True))
        for row, p in enumerate(person.tolist()):
            matched[row] = main.get(p, 0.0) >= MATCHED_SIMILARITY
        return matched

    def outputs(self) -> dict[str, float]:
        """The counts as floats: denominators and shares (see :data:`COUNT_KEYS`)."""
        p = self.persons()
        learners = p["experiential"] | p["practical"]  # the survey's respondents
        practical = p["practical"]
        participants = p["attended"]
        n_learn, n_part = int(learners.sum()), int(participants.sum())
        n_prac = int(practical.sum())

        def share(values: np.ndarray, n: int) -> float:
            return float(values.sum() / n) if n else float("nan")

        return {
            "p4_learners": float(n_learn),
            "p4_multi_tool": share(p["tools"][learners] > 1, n_learn),
            "p4_mean_tools": share(p["tools"][learners], n_learn),
            "p4_weeks": share(p["span"][learners] >= WEEKS_MONTHS, n_learn),
            "p4_year": share(p["span"][learners] >= YEAR_MONTHS, n_learn),
            "f2_matched": share(p["matched"][learners], n_learn),
            "p8_participants": float(n_part),
            "p8_share_nothing": share(~p["shared"][participants], n_part),
            "p4_practical": float(n_prac),
            "f10_experiential": share(p["experiential"][practical], n_prac),
            "f10_formal": share(p["formal"][practical], n_prac),
        }


def run_counts(scenario: Any, seed: int) -> tuple[Any, dict[str, float]]:
    """Run ``scenario`` with ``seed`` and count: ``(result, outputs)``."""
    from simulation import PeerLearningModel  # noqa: PLC0415 - workers import it once

    model = PeerLearningModel(scenario, rng=int(seed))
    counts = RunCounts(model)
    result = model.run()
    return result, counts.outputs()
