"""Errors raised by `consent`: one base class, each carrying advice a person can act on."""

from __future__ import annotations


class ConsentError(Exception):
    """Base for everything the consent ledger refuses or detects."""

    #: Process exit status the CLI uses: 1 failure, 3 invalid input data.
    exit_code = 1

    def advice(self) -> str:
        """What the person who sees this should do next."""
        return str(self)


class EntryInvalid(ConsentError):
    """A ledger entry is malformed: a field is missing, mistyped or breaks a rule.

    Never carries the offending value, which might be PII typed in the wrong place.
    """

    exit_code = 3

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"entry field {field}: {rule}")
        self.field = field
        self.rule = rule

    def advice(self) -> str:
        return (
            f"{self}. Fix the consent record at the agency node and record it again; "
            "ledger entries hold only pseudonymous references and codes, never names."
        )


class EntryRejected(ConsentError):
    """A well-formed entry cannot be appended here (bad signature, unknown grant, ...)."""

    def __init__(self, index: int, what: str) -> None:
        super().__init__(f"entry {index} rejected: {what}")
        self.index = index
        self.what = what

    def advice(self) -> str:
        return f"{self}. Nothing was appended; correct the statement and submit it again."


class LedgerTampered(ConsentError):
    """The stored ledger does not match what was signed: it was altered."""

    def __init__(self, index: int, what: str) -> None:
        super().__init__(f"ledger entry {index}: {what}")
        self.index = index
        self.what = what

    def advice(self) -> str:
        return f"{self}. Restore the ledger from a witness-checked backup; do not append."


class ProofInvalid(ConsentError):
    """An inclusion or consistency proof, or a proof bundle, does not verify."""

    def advice(self) -> str:
        return (
            f"{self}. Do not rely on the statement it was meant to prove; ask the hub "
            "for a fresh proof and report the failure to the hub operator."
        )


class CheckpointInvalid(ConsentError):
    """A checkpoint note is malformed or not signed by the expected log key."""

    def advice(self) -> str:
        return (
            f"{self}. Check that you configured the hub's published log key; if you did, "
            "the checkpoint is forged or damaged and must not be trusted."
        )


class WitnessAlarm(ConsentError):
    """The log showed this witness a rollback or a second history (split view).

    The conflicting checkpoints are kept as evidence: both carry the log's signature.
    """

    #: Exit status of the node's commands on an alarm (1 failure, 2 usage, 3 bad data).
    exit_code = 4

    def __init__(self, what: str, evidence_path: str | None, *, kind: str = "fork") -> None:
        where = f" (evidence saved to {evidence_path})" if evidence_path else ""
        super().__init__(f"{what}{where}")
        self.what = what
        self.evidence_path = evidence_path
        self.kind = kind

    def advice(self) -> str:
        return (
            f"{self}. The hub's ledger is not append-only as promised. Stop relying on "
            "its answers and send the evidence file to the other agencies and the auditor."
        )
