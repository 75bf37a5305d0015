"""A space whose factors are analysed in groups (SALib's ``groups``): grouped Sobol' indices.

Each factor keeps its own column and range, but a Saltelli design moves a group's columns
together (``N * (G + 2)`` rows for ``G`` groups) and the indices are per group: the share of an
output's variance due to the group's factors jointly (first order) or with everything they
interact with (total). Factors not given a group are groups of their own, named after
themselves. Jacques, Lavergne & Devictor 2006 (*Reliab. Eng. Syst. Saf.* 91:1126) define the
grouped indices; SALib's ``sobol`` sampler and analyser compute them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.errors import AnalysisError
from analysis.space import Space


class GroupedSpace(Space):
    """A :class:`Space` with a group label per factor.

    Args:
        factors: As for :class:`Space`.
        groups: Factor name -> group label (factors not named: their own group).
        source: Where the spec came from, for error messages.
    """

    def __init__(self, factors: Mapping[str, object], groups: Mapping[str, str],
                 source: str = "space") -> None:
        super().__init__(factors, source=source)
        unknown = [name for name in groups if name not in self.factors]
        if unknown:
            raise AnalysisError(f"{source}: group of {unknown[0]!r}, which is not a factor")
        labels = [str(groups.get(name, name)) for name in self.factors]
        clash = [g for n, g in groups.items() if g != n and g in self.factors]
        if clash:
            raise AnalysisError(f"{source}: group label {clash[0]!r} is also a factor's name")
        object.__setattr__(self, "groups", labels)

    @property
    def group_names(self) -> list[str]:
        """Group labels in order of first appearance (the order of SALib's indices)."""
        return list(dict.fromkeys(self.groups))

    def problem(self) -> dict[str, Any]:
        """The SALib problem with its ``groups``."""
        return {**super().problem(), "groups": list(self.groups)}

    def to_list(self) -> list[dict[str, Any]]:
        """As :meth:`Space.to_list`, each factor with its ``group`` (the store compares it)."""
        return [{**d, "group": g} for d, g in zip(super().to_list(), self.groups, strict=True)]


def index_names(space: Space) -> list[str]:
    """What indices are reported for: the groups of a grouped space, else the factors."""
    return space.group_names if isinstance(space, GroupedSpace) else space.names
