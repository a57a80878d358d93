"""Judging: conflicts of interest (利益迴避), assignments (分派), score sheets (評分表) and marks (分數)."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .editions import Score
from .types import UTCDateTime, utcnow


class TieKind(str, enum.Enum):
    CURRENT_EMPLOYER = "current_employer"  # 現職
    FORMER_EMPLOYER = "former_employer"  # 曾任職
    OVERSIGHT = "oversight"  # 監督、稽核或考核關係
    FAMILY = "family"  # 配偶或親屬任職
    ADVISORY = "advisory"  # 顧問、委託或契約關係
    OTHER = "other"


class Tie(db.Model):
    """A judge–agency relationship that forbids judging that agency, or any agency it supervises."""

    __tablename__ = "tie"

    id: Mapped[int] = mapped_column(primary_key=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    kind: Mapped[TieKind] = mapped_column(Enum(TieKind, native_enum=False, length=20))
    years: Mapped[str] = mapped_column(String(50), default="")  # e.g. 2015–2019
    description: Mapped[str] = mapped_column(Text, default="")
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A tie is never deleted (the record matters); an organiser may retract one entered in error.
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retraction_reason: Mapped[str] = mapped_column(Text, default="")

    judge: Mapped["User"] = relationship(foreign_keys=[judge_id])  # noqa: F821
    agency: Mapped["Agency"] = relationship()  # noqa: F821


ConflictOfInterest = Tie


class AssignmentStatus(str, enum.Enum):
    ASSIGNED = "assigned"  # the judge has not yet confirmed there is no tie
    CONFIRMED = "confirmed"  # the judge confirmed no tie: the entry may be shown
    CONFLICTED = "conflicted"  # the judge declared a tie: removed, never shown
    WITHDRAWN = "withdrawn"  # the judge left the panel, or the organiser removed the assignment


class Assignment(db.Model):
    """分派: judge × entry × stage."""

    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("stage_id", "entry_id", "judge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    status: Mapped[AssignmentStatus] = mapped_column(
        Enum(AssignmentStatus, native_enum=False, length=20), default=AssignmentStatus.ASSIGNED
    )
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str] = mapped_column(Text, default="")

    stage: Mapped["Stage"] = relationship()  # noqa: F821
    entry: Mapped["Entry"] = relationship()  # noqa: F821
    judge: Mapped["User"] = relationship(foreign_keys=[judge_id])  # noqa: F821


class StageEntry(db.Model):
    """An entry's place in a stage: every eligible entry is in the first stage; later stages hold
    the entries the organiser advanced, with the basis of that decision."""

    __tablename__ = "stage_entry"
    __table_args__ = (UniqueConstraint("stage_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), index=True)
    basis: Mapped[str] = mapped_column(Text, default="")  # e.g. "top 5 of 整體廉能作為類 by trimmed mean"
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entry: Mapped["Entry"] = relationship()  # noqa: F821


class SheetStatus(str, enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class ScoreSheet(db.Model):
    __tablename__ = "score_sheet"
    __table_args__ = (UniqueConstraint("entry_id", "judge_id", "stage_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id"), index=True)
    status: Mapped[SheetStatus] = mapped_column(
        Enum(SheetStatus, native_enum=False, length=20), default=SheetStatus.DRAFT
    )
    version: Mapped[int] = mapped_column(default=1)
    comment: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened_reason: Mapped[str] = mapped_column(Text, default="")  # shown to the judge
    # A withdrawn judge's submitted sheet is kept or excluded as the organiser decides and records.
    excluded: Mapped[bool] = mapped_column(default=False)
    excluded_reason: Mapped[str] = mapped_column(Text, default="")

    marks: Mapped[list[Mark]] = relationship(back_populates="sheet", cascade="all, delete-orphan")
    entry: Mapped["Entry"] = relationship()  # noqa: F821
    judge: Mapped["User"] = relationship()  # noqa: F821
    stage: Mapped["Stage"] = relationship()  # noqa: F821


class Mark(db.Model):
    __tablename__ = "mark"
    __table_args__ = (UniqueConstraint("sheet_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheet.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id"), index=True)
    score: Mapped[Decimal | None] = mapped_column(Score)
    comment: Mapped[str] = mapped_column(Text, default="")

    sheet: Mapped[ScoreSheet] = relationship(back_populates="marks")
    criterion: Mapped["Criterion"] = relationship()  # noqa: F821


class ResultSnapshot(db.Model):
    """成績凍結: a stage's frozen results — ranking, method and every mark used — with the SHA-256
    of that canonical JSON. Never changed; unfreezing marks it superseded and a new freeze makes a
    new snapshot, so every hash ever printed on an export can still be checked."""

    __tablename__ = "result_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id"), index=True)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON
    sha256: Mapped[str] = mapped_column(String(64))
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    unfrozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unfrozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    unfreeze_reason: Mapped[str] = mapped_column(Text, default="")

    stage: Mapped["Stage"] = relationship()  # noqa: F821
