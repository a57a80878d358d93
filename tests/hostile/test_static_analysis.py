"""Every finding of ruff's S rules or bandit accepted in the code is explained in docs/security.md."""

from __future__ import annotations

import re

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

MARKER = re.compile(r"#\s*(?:noqa:\s*(?P<ruff>S\d+(?:\s*,\s*S\d+)*)|nosec\s+(?P<bandit>B\d+(?:[ ,]+B\d+)*))")


def _accepted_section() -> str:
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert "## Static analysis findings accepted" in text
    return text.split("## Static analysis findings accepted", 1)[1].split("\n## ", 1)[0]


def _markers():
    for folder in ("award", "scoring", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                for match in MARKER.finditer(line):
                    codes = re.findall(r"[SB]\d+", match.group(0))
                    yield path.relative_to(ROOT).as_posix(), number, codes


def test_every_accepted_finding_is_explained_in_docs_security():
    section = _accepted_section()
    rows = {line.split("|")[1].strip().strip("`"): line for line in section.splitlines()
            if line.startswith("| `")}
    unexplained = [f"{path}:{number} {code}" for path, number, codes in _markers() for code in codes
                   if path not in rows or code not in rows[path]]
    assert unexplained == [], "explain these in docs/security.md, Static analysis findings accepted"


def test_the_marker_pattern_finds_markers():
    assert list(MARKER.finditer("x = 1  # why  # noqa: S311  # nosec B311"))
    assert any(path.endswith("charts.py") for path, _n, _c in _markers())
