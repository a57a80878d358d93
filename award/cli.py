"""The ``award`` command: a Flask CLI group bound to ``award.create_app``.

The commands call the same operations as the views; nothing is done twice.
"""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext


def _create_app():
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True, add_version_option=False)
def main() -> None:
    """Transparency Crystal Award (透明晶質獎) judging system."""


@click.command("demo")
@click.option("--reset", is_flag=True, help="Drop all data and load the demo edition afresh.")
@with_appcontext
def demo_command(reset: bool) -> None:
    """Load the demo edition and print each demo account."""
    from .demo import load_demo

    try:
        accounts = load_demo(reset=reset)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    click.echo("Demo edition loaded. Accounts (e-mail / role / password):")
    for email, role, password in accounts:
        click.echo(f"  {email:32} {role:10} {password}")


@click.group("user")
def user_group() -> None:
    """Manage accounts."""


@user_group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["organizer", "judge", "agency"]), required=True)
@click.option("--agency", "agency_code", help="Agency code (機關代碼), for agency contacts.")
@click.option("--name", default=None, help="Display name (defaults to the e-mail address).")
@with_appcontext
def user_add(email: str, role: str, agency_code: str | None, name: str | None) -> None:
    """Create an account. Asks for the password, or reads it from standard input."""
    from sqlalchemy import select

    from .auth.operations import AccountError, create_user
    from .extensions import db
    from .models import Agency, Role

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    agency = None
    if agency_code:
        agency = db.session.scalar(select(Agency).where(Agency.code == agency_code))
        if agency is None:
            raise click.ClickException(f"no agency with code {agency_code}")
    try:
        user = create_user(email, name or email, Role(role), password, agency=agency)
    except AccountError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Created {user.email} ({user.role.value}).")


@click.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Recompute the hash chain; name the first event altered, removed or inserted."""
    from .audit import verify_chain

    result = verify_chain()
    if result.ok:
        click.echo(f"OK: {result.message}")
    else:
        click.echo(f"BROKEN: {result.message}", err=True)
        sys.exit(1)


def init_app(app: Flask) -> None:
    from .results.export_cli import export_command

    for command in (demo_command, user_group, audit_group, export_command):
        app.cli.add_command(command)

    from .backup.cli import backup_command, restore_command
    from .entries.cli import uploads_group
    from .privacy.cli import retention_group

    for command in (backup_command, restore_command, retention_group, uploads_group):
        app.cli.add_command(command)
