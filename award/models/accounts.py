"""People who use the system and the tokens that let them in."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Enum, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


class Role(str, enum.Enum):
    ORGANIZER = "organizer"  # 主辦單位
    JUDGE = "judge"  # 評選委員
    AGENCY = "agency"  # 參獎機關聯絡人


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When an organiser last enabled the account: its idle time counts from then too, or an idle
    # account enabled again would be disabled at its very next login.
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locale: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set for an account whose password someone else chose (`award user add`, an organiser's
    # "require password change"): after login every page leads to /password/change until changed.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agency: Mapped["Agency | None"] = relationship(back_populates="contacts")  # noqa: F821

    @property
    def is_active(self) -> bool:  # Flask-Login: a disabled account cannot log in
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_organizer(self) -> bool:
        return self.role is Role.ORGANIZER

    @property
    def is_judge(self) -> bool:
        return self.role is Role.JUDGE

    @property
    def is_agency(self) -> bool:
        return self.role is Role.AGENCY

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"


class PasswordHistory(db.Model):
    """The argon2id hashes of an account's recent passwords, newest last: a new password may not be
    one of the last ``PASSWORD_HISTORY`` (3). Older rows are deleted as new ones come."""

    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TokenPurpose(str, enum.Enum):
    RESET = "reset"
    INVITATION = "invitation"


class AccountToken(db.Model):
    """A single-use, expiring link token (password reset or invitation).

    Only the SHA-256 of the token is stored, so a leaked database does not leak usable links.
    """

    __tablename__ = "account_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[TokenPurpose] = mapped_column(Enum(TokenPurpose, native_enum=False, length=20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # For invitations: the account to create.
    role: Mapped[Role | None] = mapped_column(Enum(Role, native_enum=False, length=20))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    name: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    agency: Mapped["Agency | None"] = relationship()  # noqa: F821


class OutgoingMail(db.Model):
    """Every message the system sends. With no SMTP server configured it stays here and
    organisers see it on the outbox page; with one, ``sent_at`` records delivery."""

    __tablename__ = "outgoing_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(db.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(500))
