"""The consent ledger as a library: entries and their canonical signing, the RFC 9162
Merkle log and its proofs, checkpoints and witnesses, replay to consent state, and the
disclosure decision. No web framework, no database: the hub stores the bytes."""

from consent._internal.merkle import (
    MerkleTree,
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from consent.checkpoints import (
    Checkpoint,
    LogKey,
    LogVerifier,
    Witness,
    open_checkpoint,
    sign_checkpoint,
)
from consent.decision import Decision, attach_proof, check_decision_proof, disclosure_decision
from consent.entries import (
    HUB_SIGNER,
    Access,
    EntryRef,
    Grant,
    GrantTerms,
    KeyStatement,
    PublicKey,
    Revoke,
    SignedEntry,
    Supersede,
    format_timestamp,
    parse_leaf,
    parse_timestamp,
    registration_statement,
    sign_entry,
    validate_entry,
)
from consent.errors import (
    CheckpointInvalid,
    ConsentError,
    EntryInvalid,
    EntryRejected,
    LedgerTampered,
    ProofInvalid,
    WitnessAlarm,
)
from consent.proofs import ProvenEntry, check_proof_bundle, make_proof_bundle
from consent.state import ConsentState, GrantRecord, consent_state
from consent.verify import LedgerReport, verify_ledger

__all__ = [
    "HUB_SIGNER",
    "Access",
    "Checkpoint",
    "CheckpointInvalid",
    "ConsentError",
    "ConsentState",
    "Decision",
    "EntryInvalid",
    "EntryRef",
    "EntryRejected",
    "Grant",
    "GrantRecord",
    "GrantTerms",
    "KeyStatement",
    "LedgerReport",
    "LedgerTampered",
    "LogKey",
    "LogVerifier",
    "MerkleTree",
    "ProofError",
    "ProofInvalid",
    "ProvenEntry",
    "PublicKey",
    "Revoke",
    "SignedEntry",
    "Supersede",
    "Witness",
    "WitnessAlarm",
    "attach_proof",
    "check_decision_proof",
    "check_proof_bundle",
    "consent_state",
    "disclosure_decision",
    "format_timestamp",
    "leaf_hash",
    "make_proof_bundle",
    "open_checkpoint",
    "parse_leaf",
    "parse_timestamp",
    "registration_statement",
    "sign_checkpoint",
    "sign_entry",
    "validate_entry",
    "verify_consistency",
    "verify_inclusion",
    "verify_ledger",
]
