"""An edition of the award and how it is judged: categories, criteria, stages and tiers."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Enum, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, and_, text
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

Score = Numeric(9, 4)


class EditionStatus(str, enum.Enum):
    DRAFT = "draft"  # 籌備中
    OPEN = "open"  # 受理報名
    JUDGING = "judging"  # 評選中
    CLOSED = "closed"  # 已結束


class Edition(db.Model):
    """屆次: one year's award."""

    __tablename__ = "edition"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)  # 第 N 屆
    year: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[EditionStatus] = mapped_column(
        Enum(EditionStatus, native_enum=False, length=20), default=EditionStatus.DRAFT
    )
    submission_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submission_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Attachment limits set by the organiser (佐證資料上限), in megabytes (MiB).
    attachment_max_mb: Mapped[int] = mapped_column(default=100)
    entry_attachments_max_mb: Mapped[int] = mapped_column(default=300)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    categories: Mapped[list[Category]] = relationship(
        back_populates="edition", order_by="Category.position", cascade="all, delete-orphan"
    )
    stages: Mapped[list[Stage]] = relationship(
        back_populates="edition", order_by="Stage.position", cascade="all, delete-orphan"
    )
    tiers: Mapped[list[AwardTier]] = relationship(
        back_populates="edition", order_by="AwardTier.position", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Edition {self.number} {self.name}>"


class Category(db.Model):
    """組別: entries compete within a category, judged on its criteria."""

    __tablename__ = "category"
    __table_args__ = (UniqueConstraint("edition_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    total_points: Mapped[Decimal] = mapped_column(Score, default=Decimal(100))

    edition: Mapped[Edition] = relationship(back_populates="categories")
    # The category's own criteria (the entry form's sections; every stage without criteria of its own
    # judges on them). A stage's own criteria are Criterion rows with a stage_id, not listed here: ask
    # ``scoring_adapter.criteria_for(category, stage)`` for the criteria a stage judges on.
    criteria: Mapped[list[Criterion]] = relationship(
        primaryjoin=lambda: and_(Category.id == foreign(Criterion.category_id), Criterion.stage_id.is_(None)),
        order_by="Criterion.position", cascade="all, delete-orphan", overlaps="category",
    )

    @property
    def weight_sum(self) -> Decimal:
        return sum((c.weight for c in self.criteria), Decimal(0))


class Criterion(db.Model):
    """評核面向: a weighted evaluation area. A mark m contributes weight × m / max_score."""

    __tablename__ = "criterion"
    __table_args__ = (
        # Names are unique among the category's own criteria, and among one stage's own criteria of it.
        UniqueConstraint("stage_id", "category_id", "name"),
        Index("uq_criterion_category_name", "category_id", "name", unique=True,
              sqlite_where=text("stage_id IS NULL"), postgresql_where=text("stage_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    # None: one of the category's criteria; else one of the criteria the stage judges the category on
    # instead (e.g. a shorter set for the site visit 實地訪視).
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    weight: Mapped[Decimal] = mapped_column(Score)
    min_score: Mapped[Decimal] = mapped_column(Score, default=Decimal(0))
    max_score: Mapped[Decimal] = mapped_column(Score)
    step: Mapped[Decimal] = mapped_column(Score, default=Decimal(1))
    # The entry form has one section per criterion; the organiser caps its length.
    section_char_limit: Mapped[int] = mapped_column(default=3000)

    category: Mapped[Category] = relationship(overlaps="criteria")
    stage: Mapped[Stage | None] = relationship(back_populates="criteria")


class Aggregation(str, enum.Enum):
    MEAN = "mean"
    TRIMMED = "trimmed"
    MEDIAN = "median"
    ZSCORE = "zscore"
    BIAS = "bias"


TIE_BREAK_STEPS = ("criteria", "median", "spread")
TOO_FEW_POLICIES = ("error", "mean")


class Stage(db.Model):
    """評選階段: 書面審查, 實地訪視 … each with its own window, panel size and aggregation."""

    __tablename__ = "stage"
    __table_args__ = (UniqueConstraint("edition_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    judges_per_entry: Mapped[int] = mapped_column(default=5)
    aggregation: Mapped[Aggregation] = mapped_column(
        Enum(Aggregation, native_enum=False, length=20), default=Aggregation.TRIMMED
    )
    trim: Mapped[int] = mapped_column(default=1)
    trim_level: Mapped[str] = mapped_column(String(20), default="total")  # criterion | total
    round_each_stage: Mapped[bool] = mapped_column(default=True)
    decimals: Mapped[int] = mapped_column(default=2)
    # Tie-break of equal displayed totals: the steps in order, comma-separated, from TIE_BREAK_STEPS
    # ("" = none: equal totals share the rank); "criteria" stands for the criteria named in
    # tie_break_criteria (one name per line, looked up in each category's criteria for the stage).
    tie_break: Mapped[str] = mapped_column(String(60), default="", server_default="")
    tie_break_criteria: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Too few judges to trim N at each end (fewer than 2N + 1): "error" refuses to rank the category,
    # "mean" uses the plain mean for that entry (flagged).
    too_few_judges: Mapped[str] = mapped_column(String(10), default="error", server_default="error")
    blind: Mapped[bool] = mapped_column(default=False)
    # The panel sees each other's marks and the diagnostics only once the organiser opens the discussion.
    discussion_open: Mapped[bool] = mapped_column(default=False)

    edition: Mapped[Edition] = relationship(back_populates="stages")
    # Criteria of the stage's own, for any category (most stages have none: the category's apply).
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="stage", order_by="Criterion.position", cascade="all, delete-orphan"
    )


class AwardTier(db.Model):
    """獎項等第 (特優, 優選, …), best first, given by a minimum total and/or a quota per category."""

    __tablename__ = "award_tier"
    __table_args__ = (UniqueConstraint("edition_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(default=0)
    min_total: Mapped[Decimal | None] = mapped_column(Score)
    quota: Mapped[int | None]
    # The trophy/certificate text (獎座／獎狀文字) on the ceremony run sheet; {agency}, {head}, {category},
    # {tier}, {title}, {edition}, {rank} are filled in. Empty: the category and the tier's name.
    award_text: Mapped[str] = mapped_column(Text, default="", server_default="")

    edition: Mapped[Edition] = relationship(back_populates="tiers")
