#!/usr/bin/env python3
"""Check a proof printed by ``award audit prove`` (or ``prove-consistency``) against a published root.

This file needs only the Python standard library and ``pymerkle`` (pip install "pymerkle>=7,<8"), so
anyone can run it without the award system: scripts/check_audit_proof.py is an identical copy.

    python check_audit_proof.py proof.json [--root ROOT_HEX]

An inclusion proof shows that one audit event is among the first N events of the chain whose Merkle
root a checkpoint printed (in a results workbook's 稽核摘要 sheet or on the results page). The
checker recomputes the event's SHA-256 from its content, the Merkle leaf from that hash, and the root
from the leaf and the proof's path. A consistency proof shows that a later checkpoint's tree extends
an earlier one's: no event covered by the earlier root was changed or removed. With ``--root`` the
checkpoint root in the file must also equal the root you read elsewhere (for a consistency proof, the
later one). Exit status 0: the proof holds; 1: it does not (the reason is printed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from typing import Any

from pymerkle import ConsistencyProof, InclusionProof, InvalidProof, MerkleProof
from pymerkle.hasher import MerkleHasher

FORMAT = "award-audit-proof/1"
ALGORITHM = "sha256"


class ProofError(Exception):
    """The proof does not hold; the message says why."""


def event_hash(content: dict[str, Any]) -> str:
    """An audit event's hash: SHA-256 over the canonical JSON of its content (award/audit/operations.py)."""
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def leaf(event_hash_hex: str) -> bytes:
    """The Merkle leaf of an event: pymerkle's leaf hash of the event hash's 32 bytes."""
    return MerkleHasher(ALGORITHM).hash_buff(bytes.fromhex(event_hash_hex))


def _hex(value: Any, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except (TypeError, ValueError):
        raise ProofError(f"{what} is not a hexadecimal hash") from None
    if len(raw) != 32:
        raise ProofError(f"{what} is not a SHA-256 hash")
    return raw


def _proof(document: dict[str, Any], kind: type[MerkleProof]) -> Any:
    try:
        return kind.deserialize(document["proof"])
    except (InvalidProof, KeyError, TypeError) as error:
        raise ProofError(f"the proof is malformed ({error})") from None


def check(document: Any, root: str | None = None) -> str:
    """Check a proof document; return a one-line summary, or raise ``ProofError``."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ProofError(f"not an audit proof (expected format {FORMAT})")
    try:
        if document["type"] == "inclusion":
            return _check_inclusion(document, root)
        if document["type"] == "consistency":
            return _check_consistency(document, root)
    except (KeyError, TypeError, AttributeError) as error:
        raise ProofError(f"the proof is incomplete ({error})") from None
    raise ProofError(f"unknown proof type {document.get('type')!r}")


def _check_inclusion(document: dict[str, Any], root: str | None) -> str:
    checkpoint, event = document["checkpoint"], document["event"]
    content, stated = event["content"], event["hash"]
    if event_hash(content) != stated:
        raise ProofError(f"event #{content.get('seq')}: its content does not hash to {stated}")
    if root is not None and root.lower() != checkpoint["root_hash"]:
        raise ProofError("the checkpoint root in the file is not the root you gave")
    proof = _proof(document, InclusionProof)
    try:
        proof.verify(leaf(stated), _hex(checkpoint["root_hash"], "the checkpoint root"),
                     index=content["seq"], size=checkpoint["event_count"], algorithm=ALGORITHM)
    except InvalidProof as error:
        raise ProofError(f"the inclusion proof does not hold: {error}") from None
    return (f"OK: event #{content['seq']} ({content['action']}) is event {content['seq']} of the "
            f"{checkpoint['event_count']} under root {checkpoint['root_hash']}")


def _check_consistency(document: dict[str, Any], root: str | None) -> str:
    prior, later = document["prior"], document["later"]
    if root is not None and root.lower() != later["root_hash"]:
        raise ProofError("the later checkpoint root in the file is not the root you gave")
    proof = _proof(document, ConsistencyProof)
    try:
        proof.verify(_hex(prior["root_hash"], "the earlier root"), _hex(later["root_hash"], "the later root"),
                     prior_size=prior["event_count"], later_size=later["event_count"], algorithm=ALGORITHM)
    except InvalidProof as error:
        raise ProofError(f"the consistency proof does not hold: {error}") from None
    return (f"OK: the {later['event_count']} events under root {later['root_hash']} extend the "
            f"{prior['event_count']} under root {prior['root_hash']} unchanged")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check an audit-trail Merkle proof of the award system.")
    parser.add_argument("file", help="the proof, a JSON file")
    parser.add_argument("--root", help="the checkpoint root you read elsewhere (hex); the file's must equal it")
    args = parser.parse_args(argv)
    try:
        with open(args.file, encoding="utf-8") as handle:
            document = json.load(handle)
        print(check(document, args.root))
    except (OSError, ValueError) as error:
        print(f"NOT VALID: cannot read the proof: {error}", file=sys.stderr)
        return 1
    except ProofError as error:
        print(f"NOT VALID: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
