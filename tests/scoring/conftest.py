"""Scoring tests: shared fixtures.

pyproject's ``pythonpath = ["."]`` puts the project root first, so ``import scoring`` finds the
package rather than this tests/scoring directory; the root is added here as well so the tests
also run under a configuration without it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def root() -> Path:
    return ROOT
