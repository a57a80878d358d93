"""A realistic demo edition: the award's real categories and evaluation areas, agencies from
Taipei to the outlying islands, and one account per role. Used by ``award demo`` and the tests."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import MetaData, select, text

from .audit import record
from .auth.operations import create_user
from .extensions import db
from .i18n import TAIPEI
from .models import (Aggregation, Agency, AgencyLevel, AwardTier, Category, Criterion, Edition, EditionStatus,
                     Geography, Role, Stage, User, utcnow)

DEMO_EDITION_NUMBER = 3

# (code, name, level, supervisor code, county, geography, head of agency)
AGENCIES = [
    ("DEMO-A0100", "法務部", AgencyLevel.CENTRAL, None, "臺北市", Geography.MAIN_ISLAND, "鄭銘謙"),
    ("DEMO-A0110", "法務部廉政署", AgencyLevel.CENTRAL, "DEMO-A0100", "臺北市", Geography.MAIN_ISLAND, "馮成"),
    ("DEMO-A0120", "法務部矯正署澎湖監獄", AgencyLevel.CENTRAL, "DEMO-A0100", "澎湖縣", Geography.OUTLYING_ISLAND, "王大明"),
    ("DEMO-B0100", "臺北市政府", AgencyLevel.MUNICIPAL, None, "臺北市", Geography.MAIN_ISLAND, "林市長"),
    ("DEMO-C1000", "澎湖縣政府", AgencyLevel.COUNTY, None, "澎湖縣", Geography.OUTLYING_ISLAND, "陳縣長"),
    ("DEMO-C2000", "金門縣政府", AgencyLevel.COUNTY, None, "金門縣", Geography.OUTLYING_ISLAND, "陳縣長"),
    ("DEMO-C3000", "連江縣政府", AgencyLevel.COUNTY, None, "連江縣", Geography.OUTLYING_ISLAND, "王縣長"),
    ("DEMO-C4000", "臺東縣政府", AgencyLevel.COUNTY, None, "臺東縣", Geography.REMOTE, "饒縣長"),
    ("DEMO-C4010", "臺東縣綠島鄉公所", AgencyLevel.TOWNSHIP, "DEMO-C4000", "臺東縣", Geography.OUTLYING_ISLAND, "綠島鄉長"),
    ("DEMO-C4020", "臺東縣蘭嶼鄉公所", AgencyLevel.TOWNSHIP, "DEMO-C4000", "臺東縣", Geography.OUTLYING_ISLAND, "蘭嶼鄉長"),
    ("DEMO-C5000", "屏東縣政府", AgencyLevel.COUNTY, None, "屏東縣", Geography.MAIN_ISLAND, "周縣長"),
    ("DEMO-C5010", "屏東縣琉球鄉公所", AgencyLevel.TOWNSHIP, "DEMO-C5000", "屏東縣", Geography.OUTLYING_ISLAND, "琉球鄉長"),
    ("DEMO-C6010", "南投縣信義鄉公所", AgencyLevel.TOWNSHIP, None, "南投縣", Geography.REMOTE, "信義鄉長"),
    ("DEMO-S0100", "台灣電力股份有限公司", AgencyLevel.STATE_OWNED, None, "臺北市", Geography.MAIN_ISLAND, "曾董事長"),
]

# The award's five evaluation areas, with weights per category (each category's add up to 100).
AREAS = [
    ("首長決心與持續作為", "機關首長對廉政工作之重視、政策宣示與資源投入之持續性。"),
    ("資訊與行政透明", "資訊公開、行政流程透明化及民眾參與監督之作為。"),
    ("風險防制與課責", "廉政風險評估、內部控制、稽核與違失課責機制。"),
    ("廉政成效展現", "具體成效、量化指標及外部評價。"),
    ("廉能創新與擴散", "創新作法及其可複製、可推廣至其他機關之程度。"),
]
CATEGORIES = [
    ("整體廉能作為類", "機關整體推動廉能治理之成果。", (20, 20, 25, 20, 15)),
    ("創新廉能措施類", "具創新性之單項廉能措施。", (10, 15, 20, 20, 35)),
]

ACCOUNTS = [
    ("organizer@award.example", "廉政署承辦人", Role.ORGANIZER, None, "Demo-organizer-2026"),
    ("judge1@award.example", "林評審委員", Role.JUDGE, None, "Demo-judge-one-2026"),
    ("judge2@award.example", "陳評審委員", Role.JUDGE, None, "Demo-judge-two-2026"),
    ("judge3@award.example", "黃評審委員", Role.JUDGE, None, "Demo-judge-three-2026"),
    ("penghu@award.example", "澎湖縣政府政風處聯絡人", Role.AGENCY, "DEMO-C1000", "Demo-penghu-2026"),
    ("greenisland@award.example", "綠島鄉公所聯絡人", Role.AGENCY, "DEMO-C4010", "Demo-green-island-2026"),
    ("moj@award.example", "法務部政風處聯絡人", Role.AGENCY, "DEMO-A0100", "Demo-moj-contact-2026"),
]


def _taipei(day: datetime, hour: int) -> datetime:
    return datetime.combine(day.astimezone(TAIPEI).date(), time(hour), tzinfo=TAIPEI)


def demo_loaded() -> bool:
    return db.session.scalar(select(Edition).where(Edition.number == DEMO_EDITION_NUMBER)) is not None


def load_demo(reset: bool = False) -> list[tuple[str, str, str]]:
    """Load the demo data into an upgraded database; return (e-mail, role, password) rows.

    With ``reset`` the database is dropped and migrated afresh first (the audit trail is append-only:
    its rows cannot be deleted, only the whole table dropped). Without it, an already loaded demo is
    left as it is.
    """
    if reset:
        _rebuild_database()
    accounts = [(email, role.value, password) for email, _n, role, _a, password in ACCOUNTS]
    if demo_loaded():
        return accounts
    if db.session.scalar(select(User.id).limit(1)) is not None and not reset:
        raise RuntimeError("The database already holds other data; use --reset to replace it with the demo.")
    agencies = _load_agencies()
    _load_edition()
    for email, name, role, agency_code, password in ACCOUNTS:
        create_user(email, name, role, password, agency=agencies.get(agency_code))
    record("demo_loaded", object_type="system")
    db.session.commit()
    return accounts


def _rebuild_database() -> None:
    """Drop every table (and the audit guard's trigger function) and run the migrations again."""
    from flask_migrate import upgrade

    from .audit import triggers

    db.session.remove()
    with db.engine.begin() as connection:
        existing = MetaData()
        existing.reflect(connection)
        existing.drop_all(connection)
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"DROP FUNCTION IF EXISTS {triggers.PG_FUNCTION}()"))
    upgrade()


def _load_agencies() -> dict[str, Agency]:
    by_code: dict[str, Agency] = {}
    for code, name, level, supervisor, county, geography, head in AGENCIES:
        agency = Agency(code=code, name=name, level=level, supervisor=by_code.get(supervisor), county=county,
                        geography=geography, head_name=head)
        db.session.add(agency)
        by_code[code] = agency
    db.session.flush()
    return by_code


def _load_edition() -> Edition:
    now = utcnow()
    edition = Edition(
        number=DEMO_EDITION_NUMBER, year=now.astimezone(TAIPEI).year, name=f"第{DEMO_EDITION_NUMBER}屆透明晶質獎（示範）",
        status=EditionStatus.OPEN,
        submission_opens_at=_taipei(now - timedelta(days=7), 9),
        submission_deadline=_taipei(now + timedelta(days=30), 17),
    )
    for position, (name, description, weights) in enumerate(CATEGORIES):
        category = Category(name=name, description=description, position=position)
        for index, ((area, area_description), weight) in enumerate(zip(AREAS, weights, strict=True)):
            category.criteria.append(Criterion(
                name=area, description=area_description, position=index, weight=Decimal(weight),
                min_score=Decimal(0), max_score=Decimal(100), step=Decimal("0.5"), section_char_limit=3000,
            ))
        edition.categories.append(category)
    deadline = edition.submission_deadline
    edition.stages = [
        Stage(name="書面審查", position=0, opens_at=deadline + timedelta(days=3), closes_at=deadline + timedelta(days=24),
              judges_per_entry=3, aggregation=Aggregation.MEAN, trim=0, trim_level="total"),
        Stage(name="實地訪視", position=1, opens_at=deadline + timedelta(days=30), closes_at=deadline + timedelta(days=60),
              judges_per_entry=3, aggregation=Aggregation.MEAN, trim=0, trim_level="total"),
    ]
    edition.tiers = [
        AwardTier(name="特優", position=0, min_total=Decimal(85), quota=2),
        AwardTier(name="優選", position=1, min_total=Decimal(80), quota=None),
    ]
    db.session.add(edition)
    db.session.flush()
    record("edition_created", edition, after={"number": edition.number, "name": edition.name})
    return edition
