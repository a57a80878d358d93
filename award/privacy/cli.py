"""``award retention run [--dry-run]``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("retention")
def retention_group() -> None:
    """Personal data retention (個人資料保護法 §11)."""


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="Report what would be removed; change nothing.")
@with_appcontext
def retention_run(dry_run: bool) -> None:
    """Remove personal data of closed editions past PERSONAL_DATA_RETENTION_DAYS."""
    from ..audit import verify_chain
    from .operations import run_retention

    days = current_app.config["PERSONAL_DATA_RETENTION_DAYS"]
    reports = run_retention(dry_run=dry_run)
    verb = "would be" if dry_run else "were"
    click.echo(f"Retention period: {days} days after an edition closes.")
    for r in reports:
        if r.closed_at is None:
            click.echo(f"Edition {r.edition.number}: closed, but no closing date is recorded; skipped.")
        elif not r.due:
            click.echo(f"Edition {r.edition.number}: personal data kept until {r.due_at:%Y-%m-%d}.")
        else:
            click.echo(f"Edition {r.edition.number}: {r.entries_blanked} entries' contact details and "
                       f"{r.versions_redacted} submitted versions {verb} cleared; "
                       f"{len(r.accounts_anonymised)} accounts {verb} anonymised.")
    if not reports:
        click.echo("No closed edition.")
    if not dry_run:
        result = verify_chain()
        click.echo(("Audit trail: OK, " if result.ok else "Audit trail: BROKEN, ") + result.message)
