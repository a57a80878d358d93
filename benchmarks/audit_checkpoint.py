"""Speed of the audit trail's Merkle checkpoints and proofs (prints figures; not a timed test).

    python benchmarks/audit_checkpoint.py [--events 100000] [--database URL] [--runs 3]

Migrates a fresh database (a temporary SQLite file unless ``--database`` names an empty one, e.g.
postgresql://postgres@127.0.0.1:5432/bench_audit), fills the chain with ``events`` hash-linked
events in bulk, then times ``make_checkpoint`` (read every event hash, build the pymerkle tree,
store the root), ``inclusion_proof`` of the middle event, ``consistency_proof`` between two
checkpoints, ``verify_checkpoints`` and, for comparison, ``verify_chain``. Each proof is also
checked with award/audit/proofcheck.py, as an outsider would.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from award import create_app  # noqa: E402
from award.audit import verify_chain  # noqa: E402
from award.audit.checkpoints import (consistency_proof, inclusion_proof, make_checkpoint,  # noqa: E402
                                     verify_checkpoints)
from award.audit.operations import GENESIS, _event_hash  # noqa: E402
from award.audit.proofcheck import check  # noqa: E402
from award.extensions import db  # noqa: E402
from award.models import AuditEvent, utcnow  # noqa: E402


def fill(events: int) -> None:
    start, prev, batch = utcnow(), GENESIS, []
    for seq in range(1, events + 1):
        event = AuditEvent(seq=seq, occurred_at=start + timedelta(milliseconds=seq), actor_id=None,
                           actor_label="system", action="bench_event", object_type="bench", object_id=str(seq),
                           before=None, after=f'{{"n":{seq}}}', ip=None, prev_hash=prev)
        event.hash = prev = _event_hash(event)
        batch.append({c.name: getattr(event, c.name) for c in AuditEvent.__table__.columns if c.name != "id"})
        if len(batch) == 5000:
            db.session.execute(AuditEvent.__table__.insert(), batch)
            batch = []
    if batch:
        db.session.execute(AuditEvent.__table__.insert(), batch)
    db.session.commit()


def timed(label: str, runs: int, func):
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - began)
    print(f"{label:44} median {statistics.median(times):8.3f} s   (min {min(times):.3f}, max {max(times):.3f})")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database", help="an empty database URL (default: a temporary SQLite file)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite:///{folder.name}/bench.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        began = time.perf_counter()
        fill(args.events)
        print(f"{args.events} events on {db.engine.dialect.name}, filled in {time.perf_counter() - began:.1f} s")

        def checkpoint():
            made = make_checkpoint("benchmark")
            db.session.commit()
            return made

        first = timed("make_checkpoint (tree over every event)", args.runs, checkpoint)
        middle = args.events // 2
        proof = timed(f"inclusion_proof(#{middle})", args.runs, lambda: inclusion_proof(middle))
        timed("  checked by proofcheck.check", args.runs, lambda: check(proof))
        last = checkpoint()
        consistency = timed("consistency_proof(first, last)", args.runs,
                            lambda: consistency_proof(first.id, last.id))
        timed("  checked by proofcheck.check", args.runs, lambda: check(consistency))
        print(f"inclusion path: {len(proof['proof']['path'])} hashes; consistency path: "
              f"{len(consistency['proof']['path'])} hashes")
        timed("verify_checkpoints (every stored root)", args.runs, verify_checkpoints)
        timed("verify_chain (for comparison)", 1, verify_chain)
        db.session.remove()
        db.engine.dispose()
    folder.cleanup()


if __name__ == "__main__":
    main()
