"""``award backup DIR`` and ``award restore DIR [--force]``."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from .operations import BackupError, create_backup, manifest_digest, restore_backup


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_command(directory: Path) -> None:
    """Write a consistent snapshot (database, uploads, manifest of SHA-256 hashes) into DIRECTORY."""
    try:
        manifest = create_backup(directory)
    except BackupError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Snapshot written to {directory}: {len(manifest['files'])} files, "
               f"schema revision {manifest['schema_revision']}.")
    click.echo(f"SHA-256 of {directory / 'manifest.json'}: {manifest_digest(directory)}")
    click.echo("Keep that hash apart from the snapshot; `award restore --manifest-sha256` checks it.")


@click.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database and upload folder that are not empty.")
@click.option("--manifest-sha256", default=None, help="Refuse unless manifest.json has this SHA-256.")
@with_appcontext
def restore_command(directory: Path, force: bool, manifest_sha256: str | None) -> None:
    """Restore the snapshot in DIRECTORY after checking every file's SHA-256."""
    try:
        manifest = restore_backup(directory, force=force, expected_manifest_sha256=manifest_sha256)
    except BackupError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Restored {len(manifest['files'])} files from {directory} "
               f"(snapshot of {manifest['created_at']}, schema revision {manifest['schema_revision']}).")
    click.echo("Run `award audit verify` to check the audit trail.")
