"""Helpers for the agency register tests: sheets built in memory, uploads, database look-ups."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sqlalchemy import func, select

from award.extensions import db
from award.models import Agency, AuditEvent

DATA = Path(__file__).resolve().parent / "data"
HEADER = ["機關代碼", "機關名稱", "層級", "上級機關代碼", "縣市", "地理分類", "機關首長", "地址", "電話"]


def sheet_csv(rows: list[list[str]], header: list[str] | None = None, encoding: str = "utf-8") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows([header or HEADER, *rows])
    return out.getvalue().encode(encoding)


def upload(client, filename: str, data: bytes, mode: str = "update"):
    return client.post("/agencies/import", data={"sheet": (io.BytesIO(data), filename), "mode": mode},
                       content_type="multipart/form-data")


def agency(code: str) -> Agency | None:
    return db.session.scalar(select(Agency).where(Agency.code == code))


def agency_count() -> int:
    return db.session.scalar(select(func.count(Agency.id)))


def events(action: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()


def after(event: AuditEvent) -> dict:
    return json.loads(event.after)
