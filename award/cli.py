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
    """Create an account. Asks for the password, or reads it from standard input.

    The password was chosen by someone other than the user, so the user must choose their own at
    first login."""
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
        user = create_user(email, name or email, Role(role), password, agency=agency, must_change=True)
    except AccountError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Created {user.email} ({user.role.value}); the password must be changed at first login.")


@user_group.command("enable")
@click.argument("email")
@with_appcontext
def user_enable(email: str) -> None:
    """Enable a disabled account (e.g. one disabled for being idle)."""
    from .auth.operations import find_user, set_active

    user = find_user(email)
    if user is None:
        raise click.ClickException(f"no account with e-mail address {email}")
    set_active(user, True, actor=None)
    click.echo(f"Enabled {user.email}.")


@click.group("accounts")
def accounts_group() -> None:
    """Account housekeeping."""


@accounts_group.command("disable-idle")
@with_appcontext
def accounts_disable_idle() -> None:
    """Disable accounts with no login for ACCOUNT_IDLE_DAYS (never the last active organiser)."""
    from flask import current_app

    from .auth.operations import disable_idle_accounts

    days = int(current_app.config.get("ACCOUNT_IDLE_DAYS") or 0)
    if days <= 0:
        click.echo("ACCOUNT_IDLE_DAYS is 0: idle accounts are not disabled.")
        return
    disabled = disable_idle_accounts()
    for user in disabled:
        click.echo(f"Disabled {user.email} ({user.role.value}): no login for {days} days.")
    click.echo(f"{len(disabled)} account(s) disabled.")


@click.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Recompute the hash chain; name the first event altered, removed or inserted."""
    from .audit import verify_chain

    from .audit.checkpoints import verify_checkpoints

    result = verify_chain()
    if result.ok:
        click.echo(f"OK: {result.message}")
    else:
        click.echo(f"BROKEN: {result.message}", err=True)
    checkpoints = verify_checkpoints()
    if checkpoints.ok:
        click.echo(f"OK: {checkpoints.message}")
    else:
        click.echo(f"BROKEN: {checkpoints.message}", err=True)
    if not (result.ok and checkpoints.ok):
        sys.exit(1)


@audit_group.command("checkpoint")
@click.option("--reason", default="manual", show_default=True, help="Why the checkpoint is taken.")
@with_appcontext
def audit_checkpoint(reason: str) -> None:
    """Store the Merkle root over every event so far; print its size and root."""
    from .audit.checkpoints import CheckpointError, make_checkpoint
    from .extensions import db

    try:
        checkpoint = make_checkpoint(reason)
    except CheckpointError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Checkpoint #{checkpoint.id}: {checkpoint.event_count} events, root {checkpoint.root_hash}")


def _print_proof(make) -> None:
    import json

    from .audit.checkpoints import CheckpointError

    try:
        proof = make()
    except CheckpointError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(proof, ensure_ascii=False, indent=2))


@audit_group.command("prove")
@click.argument("seq", type=click.IntRange(min=1))
@click.option("--checkpoint", "checkpoint_id", type=int, help="The checkpoint's number (default: the latest).")
@with_appcontext
def audit_prove(seq: int, checkpoint_id: int | None) -> None:
    """Print a JSON proof that event SEQ is included in a checkpoint."""
    from .audit.checkpoints import inclusion_proof

    _print_proof(lambda: inclusion_proof(seq, checkpoint_id))


@audit_group.command("prove-consistency")
@click.argument("prior", type=int)
@click.argument("later", type=int, required=False)
@with_appcontext
def audit_prove_consistency(prior: int, later: int | None) -> None:
    """Print a JSON proof that checkpoint LATER (default: the latest) extends PRIOR unchanged."""
    from .audit.checkpoints import consistency_proof

    _print_proof(lambda: consistency_proof(prior, later))


@audit_group.command("check-proof")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--root", help="The root you read elsewhere (hex); the proof's checkpoint root must equal it.")
def audit_check_proof(file: str, root: str | None) -> None:
    """Check a proof file (the same check as scripts/check_audit_proof.py; needs no database)."""
    from .audit.proofcheck import main as check_main

    sys.exit(check_main([file] + (["--root", root] if root else [])))


def init_app(app: Flask) -> None:
    from .results.export_cli import export_command

    for command in (demo_command, user_group, accounts_group, audit_group, export_command):
        app.cli.add_command(command)

    from .backup.cli import backup_command, restore_command
    from .entries.cli import uploads_group
    from .privacy.cli import retention_group

    for command in (backup_command, restore_command, retention_group, uploads_group):
        app.cli.add_command(command)
