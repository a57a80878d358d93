"""Fixtures of the hostile-input tests: the corpus importable, the results tests' scored stage."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _results_fixtures():
    """tests/results/conftest.py as a module of its own (its ``build_scored_stage``)."""
    name = "hostile_results_fixtures"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE.parent / "results" / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def scored_stage(app, demo):
    with app.app_context():
        return _results_fixtures().build_scored_stage()


def client_as(app, who: str | None):
    from award.demo import ACCOUNTS

    client = app.test_client()
    if who is None:
        return client
    email, password = next((a[0], a[4]) for a in ACCOUNTS if a[0].startswith(who + "@"))
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
