"""``award export EDITION -o FILE.xlsx [--stage NAME_OR_ID] [--csv FILE.csv] [--order 12,5,7]``.

EDITION is the edition's number (3 for 第3屆) or its id. Without ``--stage`` the last frozen stage
is exported, else the last stage with submitted marks; the output says which, and prints the
frozen snapshot's SHA-256 or "provisional". The same ``export_ops.export`` as the web page, so the
export is recorded in the audit trail (actor: system). Files are written atomically (a temporary
file renamed into place): a failed export never leaves a partial file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click
from flask.cli import with_appcontext


def _write(path: Path, data: bytes) -> None:
    path = path.expanduser()
    directory = path.resolve().parent
    if not directory.is_dir():
        raise click.ClickException(f"no such directory: {directory}")
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


@click.command("export")
@click.argument("edition")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The workbook to write (.xlsx).")
@click.option("--stage", "stage_key", default=None, help="Stage name or id (default: the last frozen stage, "
              "else the last stage with submitted marks).")
@click.option("--csv", "csv_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the ranking as CSV (UTF-8 with BOM).")
@click.option("--order", "order", default=None,
              help="Ceremony order: entry numbers presented first, e.g. \"12,5,7\" (the rest by category, tier, rank).")
@with_appcontext
def export_command(edition: str, output: Path, stage_key: str | None, csv_path: Path | None,
                   order: str | None) -> None:
    """Export a stage's results: the workbook, and optionally the ranking as CSV."""
    from . import export_ops as ops

    try:
        found = ops.find_edition(edition)
        stage, why = ops.choose_stage(found, stage_key)
        ceremony_order = ops.parse_order(order)
    except ops.ExportError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Edition {found.number} ({found.name}), stage {stage.name!r} (id {stage.id}): {why}.")
    workbook = ops.export(stage, "xlsx", ceremony_order=ceremony_order)
    _write(output, workbook.data)
    if workbook.provisional:
        click.echo("Results: provisional (the stage is not frozen; no snapshot hash).")
    else:
        click.echo(f"Results: frozen, snapshot SHA-256 {workbook.snapshot_sha256}")
    click.echo(f"Wrote {output} ({len(workbook.data):,} bytes, file SHA-256 {workbook.sha256}).")
    if csv_path is not None:
        table = ops.export(stage, "csv")
        _write(csv_path, table.data)
        click.echo(f"Wrote {csv_path} ({len(table.data):,} bytes, file SHA-256 {table.sha256}).")
