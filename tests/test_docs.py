"""The documentation describes the code that runs."""

import subprocess
import sys
from pathlib import Path

from simulation import parameter_specs

ROOT = Path(__file__).resolve().parents[1]


def test_odd_tables_are_generated_from_the_parameter_and_tool_tables():
    done = subprocess.run([sys.executable, "docs/make_tables.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout


def test_odd_follows_the_protocol_and_names_every_parameter():
    odd = (ROOT / "docs" / "ODD.md").read_text()
    sections = ["## 1. Purpose and patterns", "## 2. Entities, state variables, and scales",
                "## 3. Process overview and scheduling", "## 4. Design concepts",
                "## 5. Initialization", "## 6. Input data", "## 7. Submodels"]
    positions = [odd.index(s) for s in sections]
    assert positions == sorted(positions)
    for name, spec in parameter_specs().items():
        if not name.startswith("tools."):
            assert f"| `{name}` |" in odd, name
            assert spec.source in {"report", "literature", "derived", "assumption"}


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert readme.index("make run") < readme.index("make test") < readme.index("## ")


def test_local_links_in_the_docs_resolve():
    import re

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if "://" in target or target.startswith(("#", "mailto:")):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            if not path.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken
