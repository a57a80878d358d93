"""Fixtures for the entries tests: the blueprint registered, logged-in clients."""

from __future__ import annotations

import pytest

from entries_helpers import login_client


@pytest.fixture
def app(app):
    """The root app, with the entries blueprints registered (until create_app registers them).
    The edit and entry pages include the attachments partial, which needs the attachment endpoints."""
    from award.entries import attachments, tus, views

    for bp in (views.bp, attachments.bp, tus.bp):
        if bp.name not in app.blueprints:
            app.register_blueprint(bp)
    return app


@pytest.fixture
def penghu(app, demo):
    return login_client(app, "penghu")


@pytest.fixture
def organizer(app, demo):
    return login_client(app, "organizer")
