"""Fixtures for the personal data tests: a populated instance and logged-in clients."""

from __future__ import annotations

import pytest

from privacy_helpers import demo_password, populate


@pytest.fixture
def world(app, demo):
    with app.app_context():
        return populate()


def _client(app, who: str):
    client = app.test_client()
    response = client.post("/login", data={"email": f"{who}@award.example", "password": demo_password(who)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def organizer(app, demo):
    return _client(app, "organizer")


@pytest.fixture
def client_as(app, demo):
    return lambda who: _client(app, who)
