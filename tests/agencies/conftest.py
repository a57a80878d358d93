"""Fixtures of the agency register tests (the helpers are in agency_helpers.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def organizer(client, demo, login):
    """A client logged in as the demo organiser (the demo register holds 14 agencies)."""
    login.as_demo("organizer")
    return client
