"""Agencies' entries (參獎案), their sections, attachments (佐證資料) and frozen versions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


class EntryStatus(str, enum.Enum):
    DRAFT = "draft"  # 草稿
    SUBMITTED = "submitted"  # 已送件
    WITHDRAWN = "withdrawn"  # 已撤回 (may be edited and submitted again before the deadline)


class Screening(str, enum.Enum):
    """The organiser's eligibility check (資格審查) of a submitted entry."""

    PENDING = "pending"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    RETURNED = "returned"  # 退回補正: the agency corrects and submits again


class Entry(db.Model):
    __tablename__ = "entry"
    __table_args__ = (UniqueConstraint("category_id", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    head_name: Mapped[str] = mapped_column(String(100), default="")  # 機關首長
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_title: Mapped[str] = mapped_column(String(100), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    head_declaration: Mapped[bool] = mapped_column(default=False)  # 首長聲明資料屬實
    status: Mapped[EntryStatus] = mapped_column(
        Enum(EntryStatus, native_enum=False, length=20), default=EntryStatus.DRAFT
    )
    # Bumped by every saved change; a save based on an older number is refused (no silent overwrite).
    draft_version: Mapped[int] = mapped_column(default=1)
    screening: Mapped[Screening] = mapped_column(
        Enum(Screening, native_enum=False, length=20), default=Screening.PENDING
    )
    screening_reason: Mapped[str] = mapped_column(Text, default="")
    screened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    category: Mapped["Category"] = relationship()  # noqa: F821
    agency: Mapped["Agency"] = relationship()  # noqa: F821
    sections: Mapped[list[EntrySection]] = relationship(back_populates="entry", cascade="all, delete-orphan")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="entry", order_by="Attachment.id", cascade="all, delete-orphan"
    )
    versions: Mapped[list[EntryVersion]] = relationship(
        back_populates="entry", order_by="EntryVersion.number", cascade="all, delete-orphan"
    )

    @property
    def active_attachments(self) -> list[Attachment]:
        return [a for a in self.attachments if a.removed_at is None]

    @property
    def latest_version(self) -> EntryVersion | None:
        return self.versions[-1] if self.versions else None


class EntrySection(db.Model):
    """The entry's text for one evaluation area (評核面向) of its category."""

    __tablename__ = "entry_section"
    __table_args__ = (UniqueConstraint("entry_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id"), index=True)
    text: Mapped[str] = mapped_column(Text, default="")

    entry: Mapped[Entry] = relationship(back_populates="sections")
    criterion: Mapped["Criterion"] = relationship()  # noqa: F821


class Attachment(db.Model):
    """A file of an entry. The bytes live under the instance's upload folder with a random name;
    ``sha256`` identifies the content. Removing it from a draft keeps the row (``removed_at``),
    because a frozen version may still name it."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    original_name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(10))  # pdf, docx, xlsx, pptx, odt, jpeg, png, mp4
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    entry: Mapped[Entry] = relationship(back_populates="attachments")


class EntryVersion(db.Model):
    """An immutable copy of an entry as submitted: canonical JSON of its content and attachment
    hashes, with the SHA-256 of that JSON printed on the agency's receipt."""

    __tablename__ = "entry_version"
    __table_args__ = (UniqueConstraint("entry_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), index=True)
    number: Mapped[int]
    receipt_no: Mapped[str] = mapped_column(String(40), unique=True)
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    entry: Mapped[Entry] = relationship(back_populates="versions")


class DeadlineExtension(db.Model):
    """An organiser's extension of the submission deadline for one agency (a typhoon stops the ferries)."""

    __tablename__ = "deadline_extension"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TusUpload(db.Model):
    """A resumable upload in progress (tus 1.0). The received bytes are in the shared upload folder,
    so any worker can take the next chunk; ``offset`` is the number of bytes safely stored."""

    __tablename__ = "tus_upload"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    filename: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))
