"""``award uploads purge [--dry-run]``: clear abandoned tus uploads and orphan files (see purge.py)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("uploads")
def uploads_group() -> None:
    """Attachment files in the upload folder."""


@uploads_group.command("purge")
@click.option("--dry-run", is_flag=True, help="List what would be removed; change nothing.")
@with_appcontext
def uploads_purge(dry_run: bool) -> None:
    """Remove tus uploads abandoned for TUS_EXPIRY and files no attachment refers to."""
    from .purge import ORPHAN_GRACE, purge_uploads, tus_expiry

    report = purge_uploads(dry_run=dry_run)
    verb = "Would remove" if dry_run else "Removed"
    click.echo(f"Abandoned uploads: no chunk for {tus_expiry().days} days; orphan files: untouched for "
               f"{ORPHAN_GRACE.days} day(s).")
    for u in report.uploads:
        state = "finished (the attachment stays)" if u.finished else f"{u.offset} of {u.length} bytes"
        click.echo(f"{verb} tus upload {u.id}: entry {u.entry_id}, {u.filename!r}, {state}, "
                   f"last chunk {u.last_chunk_at:%Y-%m-%d %H:%M} UTC")
    for o in report.orphans:
        click.echo(f"{verb} orphan file {o.path} ({o.size} bytes, last changed {o.modified_at:%Y-%m-%d %H:%M} UTC)")
    if not report.uploads and not report.orphans:
        click.echo("Nothing to remove.")
    else:
        click.echo(f"{verb} {len(report.uploads)} uploads and {len(report.orphans)} orphan files, "
                   f"{report.freed_bytes} bytes.")
