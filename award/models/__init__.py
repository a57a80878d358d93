"""SQLAlchemy models, one module per area. Models import no area package."""

from .accounts import AccountToken, OutgoingMail, PasswordHistory, Role, TokenPurpose, User
from .agencies import COUNTIES, ISLAND_COUNTIES, Agency, AgencyLevel, Geography
from .audit import AuditCheckpoint, AuditEvent
from .editions import Aggregation, AwardTier, Category, Criterion, Edition, EditionStatus, Stage
from .entries import (Attachment, DeadlineExtension, Entry, EntrySection, EntryStatus, EntryVersion, Screening,
                      TusUpload)
from .judging import (Assignment, AssignmentStatus, ConflictOfInterest, Mark, ResultSnapshot, ScoreSheet, SheetStatus,
                      StageEntry, Tie, TieKind)
from .types import UTCDateTime, utcnow

__all__ = [
    "AccountToken", "Agency", "ResultSnapshot", "Assignment", "AssignmentStatus", "ConflictOfInterest", "StageEntry", "Tie", "TieKind", "Attachment", "DeadlineExtension", "EntrySection", "EntryVersion", "Screening",
    "TusUpload", "AgencyLevel", "Aggregation", "AuditCheckpoint", "AuditEvent", "AwardTier",
    "COUNTIES", "Category", "Criterion", "Edition", "EditionStatus", "Entry", "EntryStatus",
    "Geography", "ISLAND_COUNTIES", "Mark", "OutgoingMail", "PasswordHistory", "Role", "ScoreSheet", "SheetStatus",
    "Stage", "TokenPurpose", "UTCDateTime", "User", "utcnow",
]
