"""Regenerate the parameter and tool tables in docs/ODD.md from parameters.toml and tools.toml.

Usage: ``python docs/make_tables.py`` (``--check`` exits 1 if ODD.md is out of date).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from simulation import load_tools, parameter_specs

ODD = Path(__file__).with_name("ODD.md")


def _value(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return f"{value:g}" if isinstance(value, float) else str(value)


def parameter_table() -> str:
    """Markdown table of every scenario key except tool intensities."""
    lines = ["| key | default | allowed | source | meaning |", "|---|---|---|---|---|"]
    for name, spec in parameter_specs().items():
        if name.startswith("tools."):
            continue
        doc = spec.doc.replace("|", "\\|")
        lines.append(
            f"| `{name}` | {_value(spec.default)} | {spec.allowed()} | {spec.source} | {doc} |"
        )
    return "\n".join(lines)


def tool_table() -> str:
    """Markdown table of the tools and their per-use effects."""
    lines = [
        "| `tools.<name>` | report label | default share (Figure 7) | part | function | also | "
        "cluster | uses/yr | group | encounters | pi | contact | alpha | transfer r | broadcast | "
        "rho_R |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in load_tools():
        also = ", ".join(f"{part} {function}" for part, function in t.also) or "-"
        lines.append(
            f"| `{t.name}` | {t.label} | {t.figure7_share:g} | {t.process_part} | {t.function} | "
            f"{also} | {t.cluster} | "
            f"{t.uses_per_year:g} | {t.group_size or 'all'} | {t.encounters} | {t.tie_formation:g}"
            f" | {t.contact:g} | {t.trust_gain:g} | {_value(list(t.transfer))} | "
            f"{_value(list(t.broadcast))} | {t.reflection:g} |"
        )
    return "\n".join(lines)


def render(text: str) -> str:
    """Replace the generated blocks of ``text``."""
    for marker, table in (("parameters", parameter_table()), ("tools", tool_table())):
        pattern = re.compile(rf"(<!-- {marker}:start -->\n).*?(<!-- {marker}:end -->)", re.S)
        text = pattern.sub(lambda m, t=table: m.group(1) + t + "\n" + m.group(2), text)
    return text


def main() -> int:
    """Rewrite ODD.md, or with --check report whether it is current."""
    text = ODD.read_text()
    new = render(text)
    if "--check" in sys.argv:
        if new != text:
            print("docs/ODD.md tables are out of date: run python docs/make_tables.py")
            return 1
        return 0
    ODD.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
