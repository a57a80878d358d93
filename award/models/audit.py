"""The audit trail: an append-only, hash-chained record of every change (稽核紀錄)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime


class AuditEvent(db.Model):
    """One recorded change. ``hash`` is SHA-256 over this event's content and ``prev_hash``,
    so altering, removing or inserting any event breaks the chain from that point on.
    ``seq`` is unique and gap-free: two writers that read the same last event cannot both
    append after it (the chain cannot fork)."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    actor_label: Mapped[str] = mapped_column(String(300))  # kept even if the account goes
    action: Mapped[str] = mapped_column(String(50), index=True)
    object_type: Mapped[str] = mapped_column(String(50), index=True)
    object_id: Mapped[str | None] = mapped_column(String(50))
    before: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    after: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    ip: Mapped[str | None] = mapped_column(String(45))
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditCheckpoint(db.Model):
    """A Merkle checkpoint (稽核檢查點): the root of the Merkle tree over the hashes of the first
    ``event_count`` events in seq order. A printed root lets anyone check later, with an inclusion
    or consistency proof, that the events it covers were neither changed nor removed. Append-only."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200))
    event_count: Mapped[int]  # the tree's size: events 1..event_count
    root_hash: Mapped[str] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(300))  # the actor's label, kept even if the account goes
