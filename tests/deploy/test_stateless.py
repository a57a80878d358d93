"""What several workers need of the app, checked without a server: one secret key for all of them,
a database-free health check, and the reverse proxy's headers trusted only when configured."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from award import _secret_key, create_app


def test_workers_starting_together_share_one_whole_secret_key(tmp_path):
    keys, barrier = [], threading.Barrier(8)

    def worker():
        barrier.wait()
        keys.append(_secret_key(str(tmp_path)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = (tmp_path / "secret_key").read_text().strip()
    assert len(stored) == 64 and set(keys) == {stored}
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left behind


def test_a_worker_that_lost_the_race_to_create_the_key_uses_the_winners(tmp_path, monkeypatch):
    winner = _secret_key(str(tmp_path))
    # The loser looked before the winner's file appeared, and creates its own after it did.
    monkeypatch.setattr(Path, "exists", lambda self: False)
    assert _secret_key(str(tmp_path)) == winner
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_healthz_answers_without_a_database(tmp_path, monkeypatch):
    monkeypatch.setenv("AWARD_INSTANCE_PATH", str(tmp_path))
    missing = tmp_path / "no-such-dir" / "award.sqlite"  # any query would fail
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{missing}"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok\n"
    assert response.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in response.headers


def _seen(app):
    @app.get("/_seen")
    def seen():
        from flask import request

        return {"addr": request.remote_addr, "scheme": request.scheme, "host": request.host,
                "url": request.url_root}

    return app.test_client().get("/_seen", environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers={
        "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "award.example.gov.tw",
    }).get_json()


@pytest.mark.parametrize("trusted", [None, 0])
def test_forwarded_headers_are_ignored_unless_a_proxy_is_trusted(app, trusted):
    if trusted is not None:
        app.config["TRUSTED_PROXIES"] = trusted
    assert _seen(app) == {"addr": "127.0.0.1", "scheme": "http", "host": "award.test", "url": "http://award.test/"}


def test_behind_one_trusted_proxy_the_client_address_and_https_are_taken_from_it(tmp_path, monkeypatch):
    monkeypatch.setenv("AWARD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("AWARD_TRUSTED_PROXIES", "1")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'award.sqlite'}")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app()
    assert app.config["TRUSTED_PROXIES"] == 1
    assert _seen(app) == {"addr": "203.0.113.7", "scheme": "https", "host": "award.example.gov.tw",
                          "url": "https://award.example.gov.tw/"}
    assert Path(app.instance_path, "secret_key").exists()


def test_the_wsgi_module_builds_the_app_from_the_environment(tmp_path, monkeypatch):
    import importlib
    import sys

    monkeypatch.setenv("AWARD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'award.sqlite'}")
    sys.modules.pop("award.wsgi", None)
    wsgi = importlib.import_module("award.wsgi")
    try:
        assert wsgi.app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'award.sqlite'}"
        assert wsgi.app.instance_path == str(tmp_path)
        assert os.path.exists(tmp_path / "secret_key")
    finally:
        sys.modules.pop("award.wsgi", None)
