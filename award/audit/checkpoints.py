"""Merkle checkpoints over the audit chain (稽核檢查點), built with pymerkle.

A checkpoint stores the root of the Merkle tree whose leaves are the hashes of events 1..N in seq
order (pymerkle's RFC 9162-style tree, SHA-256, leaf and node prefixes). Printing a root (the
results workbook's 稽核摘要 sheet, the results page) commits the award to those N events: later,
an inclusion proof shows any one event is among them and a consistency proof shows a later
checkpoint extends an earlier one unchanged; ``award/audit/proofcheck.py`` (also
scripts/check_audit_proof.py) checks both with nothing but pymerkle.

Checkpoints are taken on demand (``award audit checkpoint``) and automatically when judging opens,
a stage advances or the edition closes, results are frozen and a results workbook or ranking CSV
is exported (``checkpoint_at``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymerkle import InmemoryTree
from sqlalchemy import func, select

from ..extensions import db
from ..models import AuditCheckpoint, AuditEvent, User, utcnow
from .operations import actor_label, default_actor, event_content, lock_chain, record
from .proofcheck import ALGORITHM, FORMAT

REASON_MAX = 200


class CheckpointError(Exception):
    """A checkpoint or proof cannot be made; the message says why."""


def _leaves(size: int | None = None) -> list[bytes]:
    query = select(AuditEvent.hash).order_by(AuditEvent.seq)
    if size is not None:
        query = query.limit(size)
    return [bytes.fromhex(value) for value in db.session.scalars(query)]


def build_tree(size: int | None = None) -> InmemoryTree:
    """The Merkle tree over the hashes of the first ``size`` events (all when None), in seq order."""
    return InmemoryTree.init_from_entries(_leaves(size), algorithm=ALGORITHM)


def make_checkpoint(reason: str, actor: User | None = None) -> AuditCheckpoint:
    """Store the root over every event so far, then record ``audit.checkpoint``; the caller commits."""
    reason = " ".join((reason or "").split())[:REASON_MAX] or "manual"
    actor = actor if actor is not None else default_actor()
    lock_chain()  # no event may slip in between reading the events and storing their root
    tree = build_tree()
    size = tree.get_size()
    if size == 0:
        raise CheckpointError("the audit trail is empty: there is nothing to checkpoint")
    checkpoint = AuditCheckpoint(created_at=utcnow(), reason=reason, event_count=size,
                                 root_hash=tree.get_root().hex(), recorded_by=actor_label(actor))
    db.session.add(checkpoint)
    db.session.flush()
    record("audit.checkpoint", checkpoint, actor=actor,
           after={"reason": reason, "event_count": size, "root_hash": checkpoint.root_hash})
    return checkpoint


def checkpoint_at(reason: str, actor: User | None = None) -> AuditCheckpoint | None:
    """An automatic checkpoint after an operation's own events (same transaction; the caller commits).

    None when there are no events."""
    if db.session.scalar(select(func.count(AuditEvent.id))) == 0:
        return None
    return make_checkpoint(reason, actor)


def latest_checkpoint() -> AuditCheckpoint | None:
    return db.session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))


def _checkpoint(checkpoint_id: int | None) -> AuditCheckpoint:
    checkpoint = latest_checkpoint() if checkpoint_id is None else db.session.get(AuditCheckpoint, checkpoint_id)
    if checkpoint is None:
        raise CheckpointError("there is no checkpoint yet: run `award audit checkpoint`" if checkpoint_id is None
                              else f"there is no checkpoint #{checkpoint_id}")
    return checkpoint


def _described(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return {"id": checkpoint.id, "created_at": checkpoint.created_at.isoformat(), "reason": checkpoint.reason,
            "event_count": checkpoint.event_count, "root_hash": checkpoint.root_hash,
            "recorded_by": checkpoint.recorded_by}


def _tree_matching(*checkpoints: AuditCheckpoint) -> InmemoryTree:
    """The tree over the largest checkpoint's events, after checking every checkpoint's root still holds."""
    tree = build_tree(max(c.event_count for c in checkpoints))
    for checkpoint in checkpoints:
        problem = _problem(tree, checkpoint)
        if problem:
            raise CheckpointError(problem)
    return tree


def _problem(tree: InmemoryTree, checkpoint: AuditCheckpoint) -> str | None:
    if tree.get_size() < checkpoint.event_count:
        return (f"checkpoint #{checkpoint.id} covers {checkpoint.event_count} events but only "
                f"{tree.get_size()} are left: events were removed")
    if tree.get_root(checkpoint.event_count).hex() != checkpoint.root_hash:
        return f"checkpoint #{checkpoint.id}: the events it covers no longer give its root (events were altered)"
    return None


def inclusion_proof(seq: int, checkpoint_id: int | None = None) -> dict[str, Any]:
    """A JSON-ready proof that event ``seq`` is in a checkpoint (the latest by default)."""
    checkpoint = _checkpoint(checkpoint_id)
    if not 1 <= seq <= checkpoint.event_count:
        raise CheckpointError(f"checkpoint #{checkpoint.id} covers events 1 to {checkpoint.event_count}; "
                              f"there is no event #{seq} in it")
    tree = _tree_matching(checkpoint)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.seq == seq))
    proof = tree.prove_inclusion(seq, checkpoint.event_count)
    return {"format": FORMAT, "type": "inclusion", "checkpoint": _described(checkpoint),
            "event": {"hash": event.hash, "content": event_content(event)}, "proof": proof.serialize()}


def consistency_proof(prior_id: int, later_id: int | None = None) -> dict[str, Any]:
    """A JSON-ready proof that checkpoint ``later_id`` (the latest by default) extends ``prior_id``."""
    prior, later = _checkpoint(prior_id), _checkpoint(later_id)
    if prior.event_count > later.event_count:
        raise CheckpointError(f"checkpoint #{prior.id} covers more events than #{later.id}; swap them")
    tree = _tree_matching(prior, later)
    proof = tree.prove_consistency(prior.event_count, later.event_count)
    return {"format": FORMAT, "type": "consistency", "prior": _described(prior), "later": _described(later),
            "proof": proof.serialize()}


@dataclass(frozen=True)
class CheckpointsResult:
    """``message`` is for the command line; ``broken`` (the first checkpoint that no longer holds) and
    ``removed`` (its events are gone rather than altered) let a page say the same in its language."""

    ok: bool
    count: int
    message: str
    broken: AuditCheckpoint | None = None
    removed: bool = False


def verify_checkpoints() -> CheckpointsResult:
    """Recompute every stored checkpoint's root from the current events; the first that differs fails."""
    checkpoints = db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).all()
    if not checkpoints:
        return CheckpointsResult(True, 0, "no checkpoints yet")
    tree = build_tree(max(c.event_count for c in checkpoints))
    for checkpoint in checkpoints:
        problem = _problem(tree, checkpoint)
        if problem:
            return CheckpointsResult(False, len(checkpoints), problem, checkpoint,
                                     removed=tree.get_size() < checkpoint.event_count)
    last = checkpoints[-1]
    return CheckpointsResult(True, len(checkpoints), f"{len(checkpoints)} checkpoints hold; the latest, "
                             f"#{last.id}, covers {last.event_count} events with root {last.root_hash}")


def recent_checkpoints(limit: int = 20) -> list[AuditCheckpoint]:
    """The newest checkpoints first, for the verification page."""
    return list(db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(limit)))
