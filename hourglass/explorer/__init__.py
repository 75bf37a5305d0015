"""The browser explorer of the Hourglass model (``hourglass explore``).

A Solara page built on Mesa's ``SolaraViz``: pick a scenario, set the levers and the tool mix,
step, play or reset, and watch the peer network, the hourglass, organisations changed and the
contact heat map. Every browser session builds its own model. The page works offline: charts are
matplotlib images, and Solara's front-end assets come from the ``solara-assets`` package.

The Solara app itself is :mod:`hourglass.explorer.app` (imported by the Solara server, not here,
so that ``import analysis`` does not need the optional ``explore`` dependencies).
"""
