"""Merkle checkpoints over the audit chain, their proofs, and the outsider's checker."""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import subprocess  # runs the outsider's script
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

from audit_support import audit_guard_lifted
from award.audit import record
from award.audit.checkpoints import (CheckpointError, consistency_proof, inclusion_proof, make_checkpoint,
                                     verify_checkpoints)
from award.audit.proofcheck import ProofError, check
from award.extensions import db
from award.models import AuditCheckpoint, AuditEvent
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = ROOT / "scripts" / "check_audit_proof.py"


def _events(n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        record("test_event", object_type="test", object_id=i, after={"n": i})
    db.session.commit()


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_a_checkpoint_stores_the_rfc9162_root_and_records_an_event(app):
    with app.app_context():
        _events(3)
        hashes = db.session.scalars(select(AuditEvent.hash).order_by(AuditEvent.seq)).all()
        checkpoint = make_checkpoint("  end of\n the test  ")
        db.session.commit()
        # Worked out by hand: leaves H(0x00 | h), nodes H(0x01 | left | right), the odd leaf promoted.
        leaves = [_sha(b"\x00" + bytes.fromhex(h)) for h in hashes]
        expected = _sha(b"\x01" + _sha(b"\x01" + leaves[0] + leaves[1]) + leaves[2])
        assert checkpoint.event_count == 3 and checkpoint.root_hash == expected.hex()
        assert checkpoint.reason == "end of the test" and checkpoint.recorded_by == "system"
        event = db.session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()))
        assert event.seq == 4 and event.action == "audit.checkpoint"
        assert event.object_type == "audit_checkpoint" and event.object_id == str(checkpoint.id)
        assert json.loads(event.after) == {"reason": "end of the test", "event_count": 3,
                                           "root_hash": checkpoint.root_hash}


def test_an_empty_trail_has_no_checkpoint(app, runner):
    with app.app_context():
        with pytest.raises(CheckpointError):
            make_checkpoint("nothing")
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 1 and "empty" in result.output


def test_every_event_has_an_inclusion_proof_that_checks(app):
    with app.app_context():
        _events(6)
        checkpoint = make_checkpoint("test")
        db.session.commit()
        for seq in range(1, 7):
            proof = json.loads(json.dumps(inclusion_proof(seq)))
            assert proof["checkpoint"]["root_hash"] == checkpoint.root_hash
            assert check(proof, checkpoint.root_hash).startswith(f"OK: event #{seq} (test_event)")
        with pytest.raises(CheckpointError, match="covers events 1 to 6"):
            inclusion_proof(7)  # the checkpoint's own event comes after it


def test_a_forged_or_mismatched_proof_is_refused(app):
    with app.app_context():
        _events(5)
        root = make_checkpoint("test").root_hash
        db.session.commit()
        proof = inclusion_proof(3)
    altered = copy.deepcopy(proof)
    altered["event"]["content"]["actor_label"] = "someone else"
    with pytest.raises(ProofError, match="does not hash"):
        check(altered)
    rehashed = copy.deepcopy(altered)  # the forger recomputes the event's hash too: the path no longer fits
    rehashed["event"]["hash"] = hashlib.sha256(json.dumps(
        rehashed["event"]["content"], sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()
    with pytest.raises(ProofError, match="does not hold"):
        check(rehashed)
    moved = copy.deepcopy(proof)
    moved["proof"]["metadata"]["index"] = 2
    with pytest.raises(ProofError):
        check(moved)
    with pytest.raises(ProofError, match="not the root you gave"):
        check(proof, "0" * 64)
    with pytest.raises(ProofError, match="not an audit proof"):
        check({"type": "inclusion"})
    assert check(proof, root.upper()).startswith("OK")


def test_consistency_between_two_checkpoints(app):
    with app.app_context():
        _events(3)
        first = make_checkpoint("first")
        _events(4, start=3)
        second = make_checkpoint("second")
        db.session.commit()
        proof = consistency_proof(first.id, second.id)
        assert proof["prior"]["event_count"] == 3 and proof["later"]["event_count"] == 8
        assert check(proof, second.root_hash).startswith("OK: the 8 events")
        assert consistency_proof(first.id)["later"]["id"] == second.id
        with pytest.raises(CheckpointError, match="swap"):
            consistency_proof(second.id, first.id)
        with pytest.raises(CheckpointError, match="no checkpoint #99"):
            consistency_proof(99)
    forged = copy.deepcopy(proof)
    forged["prior"]["root_hash"] = "ab" * 32
    with pytest.raises(ProofError, match="does not hold"):
        check(forged)


def test_verify_recomputes_each_checkpoint(app, runner):
    with app.app_context():
        _events(4)
        make_checkpoint("test")
        db.session.commit()
        assert verify_checkpoints().ok
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "1 checkpoints hold" in ok.output
    with app.app_context(), audit_guard_lifted():
        # A forger who rewrites an event and its hash (the chain check names it too) breaks the root.
        db.session.execute(text("UPDATE audit_event SET hash = :h WHERE seq = 2"), {"h": "e" * 64})
        db.session.commit()
    with app.app_context():
        result = verify_checkpoints()
        assert not result.ok and "no longer give its root" in result.message
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1 and "checkpoint #" in broken.output
    with app.app_context(), audit_guard_lifted():
        db.session.execute(text("DELETE FROM audit_event WHERE seq >= 3"))
        db.session.commit()
    with app.app_context():
        result = verify_checkpoints()
        assert not result.ok and "removed" in result.message
        with pytest.raises(CheckpointError):
            inclusion_proof(1)


def test_cli_checkpoint_prove_and_check(app, runner, tmp_path):
    with app.app_context():
        _events(5)
    made = runner.invoke(args=["audit", "checkpoint", "--reason", "before the ceremony"])
    assert made.exit_code == 0, made.output
    with app.app_context():
        checkpoint = db.session.scalar(select(AuditCheckpoint))
        assert checkpoint.reason == "before the ceremony" and checkpoint.event_count == 5
    assert f"{checkpoint.event_count} events, root {checkpoint.root_hash}" in made.output
    proved = runner.invoke(args=["audit", "prove", "4", "--checkpoint", str(checkpoint.id)])
    assert proved.exit_code == 0, proved.output
    path = tmp_path / "proof.json"
    path.write_text(proved.output, encoding="utf-8")
    good = runner.invoke(args=["audit", "check-proof", str(path), "--root", checkpoint.root_hash])
    assert good.exit_code == 0 and good.output.startswith("OK: event #4")
    wrong = runner.invoke(args=["audit", "check-proof", str(path), "--root", "1" * 64])
    assert wrong.exit_code == 1 and "NOT VALID" in wrong.output
    assert runner.invoke(args=["audit", "prove", "9"]).exit_code == 1
    missing = runner.invoke(args=["audit", "prove", "1", "--checkpoint", "42"])
    assert missing.exit_code == 1 and "no checkpoint #42" in missing.output
    consistent = runner.invoke(args=["audit", "prove-consistency", str(checkpoint.id)])
    assert consistent.exit_code == 0 and json.loads(consistent.output)["type"] == "consistency"


def test_the_outsiders_script_is_the_packages_checker_and_needs_only_pymerkle(app, tmp_path):
    source = (ROOT / "award" / "audit" / "proofcheck.py").read_text(encoding="utf-8")
    assert SCRIPT.read_text(encoding="utf-8") == source
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported - set(sys.stdlib_module_names) == {"pymerkle"}
    with app.app_context():
        _events(3)
        make_checkpoint("test")
        db.session.commit()
        proof = inclusion_proof(2)
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof), encoding="utf-8")
    # -I: isolated from the working directory and the user's site; run from an empty folder.
    run = subprocess.run([sys.executable, "-I", str(SCRIPT), str(path), "--root", proof["checkpoint"]["root_hash"]],
                         capture_output=True, text=True, cwd=tmp_path, check=False)
    assert run.returncode == 0 and run.stdout.startswith("OK: event #2"), run.stderr
    proof["event"]["content"]["action"] = "forged"
    path.write_text(json.dumps(proof), encoding="utf-8")
    run = subprocess.run([sys.executable, "-I", str(SCRIPT), str(path)], capture_output=True, text=True,
                         cwd=tmp_path, check=False)
    assert run.returncode == 1 and "NOT VALID" in run.stderr


def test_the_verify_page_recomputes_the_checkpoints(app, client, demo, login):
    login.as_demo("organizer")
    page = client.get("/audit/verify").get_data(as_text=True)
    assert 'id="checkpoints-status" data-state="none"' in page
    with app.app_context():
        _events(4)
        first = make_checkpoint("before the ceremony")
        db.session.commit()
        _events(2)
        second = make_checkpoint("after the ceremony")
        db.session.commit()
        first_id, first_count, second_root = first.id, first.event_count, second.root_hash
    page = client.get("/audit/verify").get_data(as_text=True)
    assert 'data-state="ok"' in page
    assert second_root in page and "before the ceremony" in page
    assert page.index(f'data-checkpoint="{first_id + 1}"') < page.index(f'data-checkpoint="{first_id}"')  # newest first
    with app.app_context(), audit_guard_lifted():
        # an event the first checkpoint covers is rewritten (its hash too): that checkpoint is named
        db.session.execute(text("UPDATE audit_event SET hash = :h WHERE seq = :seq"), {"h": "e" * 64, "seq": 2})
        db.session.commit()
    page = client.get("/audit/verify").get_data(as_text=True)
    assert 'id="checkpoints-status" data-state="broken"' in page
    status = page.split('id="checkpoints-status"', 1)[1].split("</p>", 1)[0]
    assert f"#{first_id}" in status
    assert f'class="row-bad" aria-invalid="true" data-checkpoint="{first_id}"' in page
    with app.app_context(), audit_guard_lifted():
        db.session.execute(text("DELETE FROM audit_event WHERE seq > :n"), {"n": first_count - 1})
        db.session.commit()
    status = client.get("/audit/verify").get_data(as_text=True).split('id="checkpoints-status"', 1)[1]
    assert 'data-state="broken"' in status.split(">", 1)[0] and str(first_count) in status.split("</p>", 1)[0]
