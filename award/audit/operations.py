"""Recording and verifying the hash-chained audit trail.

Each event's hash is SHA-256 over the canonical JSON of its content together with the hash of
the event before it. Changing any stored field, removing an event or slipping one in breaks the
chain, and ``verify_chain`` names the first event where it breaks.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import select, text

from ..extensions import db
from ..models import AuditEvent, User, utcnow

GENESIS = "0" * 64
# Any fixed number: the key of the PostgreSQL advisory lock that serialises chain writes.
_CHAIN_LOCK_KEY = 0x7C4A_0001


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot record {type(value).__name__} in the audit trail")


def canonical_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def snapshot(obj: Any, *fields: str) -> dict[str, Any]:
    """The named attributes of a model instance, for an event's before/after values."""
    return {name: getattr(obj, name) for name in fields}


def event_content(event: AuditEvent) -> dict[str, Any]:
    """What an event's hash covers (its canonical JSON is hashed); proofs carry it for outsiders."""
    return {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "ip": event.ip,
        "prev_hash": event.prev_hash,
    }


def _event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical_json(event_content(event)).encode()).hexdigest()


def actor_label(actor: User | None) -> str:
    if actor is None:
        return "system"
    return f"{actor.email} ({actor.role.value})"


def default_actor() -> User | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def lock_chain() -> None:
    """Serialise chain writers until the caller's transaction ends, before the last event is read.

    Two writers that read the same last event would both append after it (the chain would fork, or
    one would fail on the unique ``seq``). On PostgreSQL a transaction-scoped advisory lock queues
    them. On SQLite the driver opens a transaction only at the first write and a read takes no write
    lock, so a write that changes nothing takes SQLite's database write lock now (waiting up to the
    busy timeout for another writer to commit); it is held until commit or rollback.
    """
    session = db.session
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})
    elif dialect == "sqlite":
        session.execute(text("UPDATE audit_event SET seq = seq WHERE 0 = 1"))  # no row: no trigger fires


def record(
    action: str,
    obj: Any = None,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    before: Any = None,
    after: Any = None,
    actor: User | None = None,
) -> AuditEvent:
    """Append an event to the chain in the caller's transaction (the caller commits).

    ``obj`` is a model instance whose table name and id identify the object; or pass
    ``object_type``/``object_id``. The actor defaults to the logged-in user.
    """
    session = db.session
    lock_chain()
    if obj is not None:
        session.flush()  # a new object needs its id before we can name it
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    actor = actor if actor is not None else default_actor()
    last = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    event = AuditEvent(
        seq=(last.seq + 1) if last else 1,
        occurred_at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_label=actor_label(actor),
        action=action,
        object_type=object_type or "system",
        object_id=None if object_id is None else str(object_id),
        before=canonical_json(before),
        after=canonical_json(after),
        ip=request.remote_addr if has_request_context() else None,
        prev_hash=last.hash if last else GENESIS,
    )
    event.hash = _event_hash(event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    first_bad_seq: int | None = None
    problem: str | None = None  # "altered" | "missing" | "inserted"
    message: str = ""


def verify_chain() -> VerifyResult:
    """Walk the chain in order and report the first event that does not hold.

    - altered: the stored hash is not the hash of the stored content;
    - missing: a sequence number is skipped, or an event does not point at its predecessor's hash
      while its own hash is intact (an event was removed);
    - inserted: an event points at a hash that no event has, or the chain does not start at genesis.
    """
    prev_hash, expected_seq, count = GENESIS, 1, 0
    rows = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()
    for event in rows.yield_per(1000):
        count += 1
        if _event_hash(event) != event.hash:
            return VerifyResult(False, count, event.seq, "altered", f"event #{event.seq} was altered")
        if event.seq != expected_seq:
            problem = "missing" if event.seq > expected_seq else "inserted"
            return VerifyResult(False, count, event.seq, problem,
                                f"event #{event.seq} follows #{expected_seq - 1}: events are {problem}")
        if event.prev_hash != prev_hash:
            return VerifyResult(False, count, event.seq, "inserted",
                                f"event #{event.seq} does not follow event #{expected_seq - 1}")
        prev_hash, expected_seq = event.hash, expected_seq + 1
    return VerifyResult(True, count, message=f"{count} events, chain intact")
