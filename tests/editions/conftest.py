"""Fixtures of the editions tests."""

import pytest


@pytest.fixture
def organizer(client, demo, login):
    login.as_demo("organizer")
    return client
