"""Fixtures of the hostile-input tests: the corpus and helpers importable, the results tests' scored stage."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile_support import _results_fixtures  # noqa: E402


@pytest.fixture
def scored_stage(app, demo):
    with app.app_context():
        return _results_fixtures().build_scored_stage()
