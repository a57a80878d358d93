"""The audit trail: ``record`` every state change inside the operation's transaction;
``verify_chain`` recomputes the hash chain."""

from .operations import VerifyResult, canonical_json, lock_chain, record, snapshot, verify_chain

__all__ = ["VerifyResult", "canonical_json", "lock_chain", "record", "snapshot", "verify_chain"]
