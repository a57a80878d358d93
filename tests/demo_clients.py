"""Test clients logged in as demo accounts, the way a browser logs in. One module for every test
folder (a module of its own, not ``conftest``: ``from conftest import …`` would find whichever
folder's conftest came first on sys.path)."""

from __future__ import annotations


class Login:
    """Log a test client in as someone, the way a browser would."""

    def __init__(self, client):
        self.client = client

    def __call__(self, email: str, password: str):
        return self.client.post("/login", data={"email": email, "password": password})

    def as_demo(self, who: str):
        from award.demo import ACCOUNTS

        for email, _name, _role, _agency, password in ACCOUNTS:
            if email.startswith(who + "@"):
                response = self(email, password)
                assert response.status_code == 302, response.get_data(as_text=True)
                return response
        raise KeyError(who)


def demo_client(app, who: str | None):
    """A fresh test client logged in as the demo account ``who`` (e.g. "penghu"; ``None``: anonymous)."""
    client = app.test_client()
    if who is not None:
        Login(client).as_demo(who)
    return client
