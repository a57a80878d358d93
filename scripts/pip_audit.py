#!/usr/bin/env python3
"""`make lint`'s dependency audit: pip-audit over the installed environment, strictly.

Known vulnerabilities fail, except those accepted (by id) under "## Static analysis findings accepted"
in docs/security.md. pip-audit needs the network (PyPI's JSON API or OSV); when it cannot reach it,
nothing was audited: that fails too, unless PIP_AUDIT_UNAVAILABLE=warn (an offline CI machine), when
it says so loudly and goes on.
"""

from __future__ import annotations

import os
import re
import subprocess  # runs pip-audit, a fixed command  # nosec B404
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ID = re.compile(r"\b(?:PYSEC-\d{4}-\d+|GHSA-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}|CVE-\d{4}-\d+)\b")


def accepted_ids() -> list[str]:
    path = ROOT / "docs" / "security.md"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    section = text.split("## Static analysis findings accepted", 1)[1] if "## Static analysis findings accepted" in text else ""
    section = section.split("\n## ", 1)[0]
    return sorted(set(ID.findall(section)))


def main() -> int:
    command = [sys.executable, "-m", "pip_audit", "--strict", "--skip-editable", "--progress-spinner", "off",
               "--desc", "on"]
    for vuln in accepted_ids():
        command += ["--ignore-vuln", vuln]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603  # nosec B603
    output = result.stdout + result.stderr
    if result.returncode == 0:
        print(result.stdout.strip() or "pip-audit: no known vulnerabilities")
        return 0
    if re.search(r"Found \d+ known vulnerabilit", output):
        print(output)
        print("pip-audit found vulnerabilities: upgrade, or explain them in docs/security.md", file=sys.stderr)
        return 1
    unreachable = ("not found on PyPI" in output or "ConnectionError" in output or "Max retries" in output
                   or "NameResolutionError" in output)
    if unreachable and os.environ.get("PIP_AUDIT_UNAVAILABLE") == "warn":
        print("WARNING: pip-audit could not reach its vulnerability service: the dependencies were NOT audited.",
              file=sys.stderr)
        return 0
    print(output[-4000:])
    return result.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
