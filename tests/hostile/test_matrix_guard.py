"""The access matrix is generated from the app's URL map: a route nobody listed fails it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

MATRIX = Path(__file__).resolve().parents[1] / "security" / "test_access_matrix.py"


def _matrix():
    spec = importlib.util.spec_from_file_location("hostile_access_matrix", MATRIX)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_an_unlisted_route_fails_the_access_matrix(app):
    matrix = _matrix()
    matrix.test_every_endpoint_has_a_policy(app)  # the app as it is: every route listed
    app.add_url_rule("/sneaky/<int:entry_id>", "sneaky.backdoor", lambda entry_id: "open")
    with pytest.raises(AssertionError, match="sneaky.backdoor"):
        matrix.test_every_endpoint_has_a_policy(app)
