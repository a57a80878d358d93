"""The register of public agencies that may enter the award."""

from __future__ import annotations

import enum

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class AgencyLevel(str, enum.Enum):
    CENTRAL = "central"  # 中央機關
    MUNICIPAL = "municipal"  # 直轄市
    COUNTY = "county"  # 縣(市)
    TOWNSHIP = "township"  # 鄉(鎮、市、區)
    STATE_OWNED = "state_owned"  # 國營事業
    SCHOOL = "school"  # 學校
    HOSPITAL = "hospital"  # 醫院
    OTHER = "other"  # 其他


class Geography(str, enum.Enum):
    OUTLYING_ISLAND = "outlying_island"  # 離島
    REMOTE = "remote"  # 偏遠
    MAIN_ISLAND = "main_island"  # 本島


# The counties and cities of Taiwan, in the order of the Ministry of the Interior.
COUNTIES = (
    "臺北市", "新北市", "桃園市", "臺中市", "臺南市", "高雄市",
    "基隆市", "新竹市", "嘉義市", "新竹縣", "苗栗縣", "彰化縣", "南投縣", "雲林縣",
    "嘉義縣", "屏東縣", "宜蘭縣", "花蓮縣", "臺東縣", "澎湖縣", "金門縣", "連江縣",
)
ISLAND_COUNTIES = ("澎湖縣", "金門縣", "連江縣")


class Agency(db.Model):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # 機關代碼
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[AgencyLevel] = mapped_column(Enum(AgencyLevel, native_enum=False, length=20))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    county: Mapped[str] = mapped_column(String(10))
    geography: Mapped[Geography] = mapped_column(Enum(Geography, native_enum=False, length=20))
    head_name: Mapped[str | None] = mapped_column(String(100))  # 機關首長
    address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))

    supervisor: Mapped[Agency | None] = relationship(remote_side=[id], back_populates="subordinates")
    subordinates: Mapped[list[Agency]] = relationship(back_populates="supervisor")
    contacts: Mapped[list["User"]] = relationship(back_populates="agency")  # noqa: F821

    def ancestors(self) -> list[Agency]:
        """Supervising authorities up the chain, nearest first (cycles cut)."""
        chain, seen, node = [], {self.id}, self.supervisor
        while node is not None and node.id not in seen:
            chain.append(node)
            seen.add(node.id)
            node = node.supervisor
        return chain

    def __repr__(self) -> str:
        return f"<Agency {self.code} {self.name}>"
