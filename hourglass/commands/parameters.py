"""``hourglass parameters [SECTION]``: every scenario key with its default, range and source.

The table comes from :func:`simulation.parameter_specs` (``simulation/parameters.toml`` and the
tool table), the same source the scenario loader checks against and docs/ODD.md renders.
``SECTION`` is a section (``levers``) or one key (``levers.trust``); ``--doc`` adds each key's
description.
"""

from __future__ import annotations

import argparse
import difflib
import textwrap

from simulation.errors import HourglassError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``hourglass parameters``."""
    parser = subparsers.add_parser(
        "parameters", help="list every scenario key with its range, default and source",
        description="List every scenario key: its default, what is allowed and where the "
        "default comes from (report, literature, derived or assumption).",
    )
    parser.add_argument("section", nargs="?", default=None,
                        help="a section (e.g. levers) or one key (e.g. levers.trust); "
                        "default: every section")
    parser.add_argument("--doc", action="store_true", help="also print each key's description")


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return f"{value:g}" if isinstance(value, float) else str(value)


def selected(section: str | None) -> list[str]:
    """The keys ``section`` names (all of them for ``None``).

    Raises:
        HourglassError: No such section or key (with a close match).
    """
    from simulation.scenario import parameter_specs

    names = list(parameter_specs())
    if section is None:
        return names
    if section in names:
        return [section]
    chosen = [n for n in names if n.split(".", 1)[0] == section]
    if chosen:
        return chosen
    sections = list(dict.fromkeys(n.split(".", 1)[0] for n in names))
    close = difflib.get_close_matches(section, sections + names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise HourglassError(f"parameters: no section or key {section!r}{hint}; sections: "
                         f"{', '.join(sections)}")


def main(args: argparse.Namespace) -> int:
    """Print the keys, one line each, grouped by section."""
    from simulation.scenario import parameter_specs

    specs = parameter_specs()
    names = selected(args.section)
    width = max(len(n.split(".", 1)[1]) for n in names)
    shown = {n: _show(specs[n].default) for n in names}
    default_width = min(max(len(v) for v in shown.values()), 20)
    section = None
    for name in names:
        spec = specs[name]
        here, key = name.split(".", 1)
        if here != section:
            print(("\n" if section else "") + f"[{here}]")
            section = here
        print(f"  {key:<{width}}  {shown[name]:<{default_width}}  {spec.source:<10}  "
              f"{spec.allowed()}")
        if args.doc:
            print(textwrap.fill(spec.doc, width=96, initial_indent=" " * 4,
                                subsequent_indent=" " * 4))
    keys = f"{len(names)} key{'s' if len(names) != 1 else ''}"
    print(f"\n{keys}; columns: key, default, source, allowed values. Set one with "
          "--set SECTION.KEY=VALUE or in a scenario file (hourglass scenarios).")
    return 0
