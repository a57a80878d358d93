"""Helpers of the hostile-input tests. A module of its own, not ``conftest``: several test folders have a
conftest.py, and ``from conftest import …`` would find whichever another folder put on sys.path first."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _results_fixtures():
    """tests/results/conftest.py as a module of its own (its ``build_scored_stage``)."""
    name = "hostile_results_fixtures"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE.parent / "results" / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


