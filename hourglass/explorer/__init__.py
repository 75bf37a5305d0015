"""The browser explorer of the Hourglass model (``hourglass explore``).

A Solara page that puts a designer's question first: what does my design change, and how sure
is that? Start from a library scenario or an uploaded scenario file, move the levers, the
facilitator's choices and the tool mix, and see both designs run over many seeds at once: the
hourglass and organisations changed as medians with 10-90 % bands, and the paired difference
with its 95 % interval. One run can still be watched month by month, as the anecdote it is.
Each browser tab has its own state; the page works offline (matplotlib images, Solara's assets
from the ``solara-assets`` package). See docs/explorer.md.

The Solara app is :mod:`hourglass.explorer.app`, served by :mod:`hourglass.explorer.server`
(Solara's server behind an origin guard); neither is imported here, so that importing the
study does not need the optional ``explore`` dependencies.
"""
