"""Builders for test objects. Each call makes fresh ones; nothing is shared."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from consent import (
    HUB_SIGNER,
    ConsentState,
    LogKey,
    MerkleTree,
    SignedEntry,
    as_read_by,
    format_timestamp,
    parse_leaf,
    registration_statement,
    sign_checkpoint,
    sign_entry,
    validate_entry,
)
from consent.checkpoints import Checkpoint
from keys import AgencyIdentity, KeyRegistry

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PROGRAMS = {
    "DCFS": "child_welfare",
    "DJJ": "juvenile_justice",
    "DWD": "family_employment",
    "DVR": "vocational_rehab",
    "DOC": "corrections",
}


def agencies(
    *names: str, registered_at: datetime = T0 - timedelta(days=30)
) -> tuple[dict[str, AgencyIdentity], KeyRegistry]:
    """Fresh identities for `names` (default: the five demo agencies) and a registry
    holding them, registered at `registered_at`."""
    chosen = names or tuple(PROGRAMS)
    registry = KeyRegistry()
    identities = {}
    for name in chosen:
        identity = AgencyIdentity.create(
            name, (PROGRAMS.get(name, name.lower()),), now=registered_at
        )
        registry.register(identity.public_keys(), registered_at)
        identities[name] = identity
    return identities, registry


# --- consent ledger -------------------------------------------------------------------

LOG_NAME = "pprl-hub.test/ledger"


def record_ref(label: str) -> str:
    """A pseudonymous record reference (64 hex digits) for a test label."""
    return hashlib.sha256(label.encode()).hexdigest()


def grant_terms(**changes: Any) -> dict[str, Any]:
    """GRANT terms: DCFS's child_welfare discloses client-1 to corrections."""
    terms: dict[str, Any] = {
        "consent_id": str(uuid.uuid4()),
        "subject": record_ref("client-1"),
        "disclosing_program": "child_welfare",
        "recipient_programs": ["corrections"],
        "recipient_classes": [],
        "data_classes": ["existence", "contact"],
        "purposes": ["care_coordination"],
        "actions": ["view"],
        "effective_from": format_timestamp(T0 - timedelta(days=1)),
        "expires_at": format_timestamp(T0 + timedelta(days=365)),
        "regulatory_basis": ["state_statute"],
        "form_sha256": hashlib.sha256(b"signed consent form").hexdigest(),
        "signer_type": "client",
        "signed_at": format_timestamp(T0 - timedelta(days=1)),
        "collected_by": "cm-0042",
    }
    terms.update(changes)
    return terms


class LedgerBuilder:
    """A ledger with registered agencies, built entry by entry like the hub would."""

    def __init__(self, *names: str, log: LogKey | None = None) -> None:
        self.log = log or LogKey.generate(LOG_NAME)
        self.ids, _ = agencies(*(names or ("DCFS", "DJJ", "DOC")))
        self.state = ConsentState(log_key=self.log.private_key.public_key())
        self.tree = MerkleTree()
        self.leaves: list[bytes] = []
        for identity in self.ids.values():
            self.add(
                self.hub_entry(
                    **registration_statement(identity.public_keys()),
                    made_at=format_timestamp(T0 - timedelta(days=10)),
                )
            )

    def hub_entry(self, **fields: Any) -> SignedEntry:
        data = {"v": 1, "signer": HUB_SIGNER, "key_id": self.log.signing_key_id, **fields}
        data.setdefault("made_at", format_timestamp(T0))
        return sign_entry(validate_entry(data), self.log)

    def agency_entry(self, agency: str, **fields: Any) -> SignedEntry:
        identity = self.ids[agency]
        data = {"v": 1, "signer": agency, "key_id": identity.signing_key_id, **fields}
        data.setdefault("made_at", format_timestamp(T0))
        return sign_entry(validate_entry(data), identity)

    def add(self, signed: SignedEntry) -> int:
        index = self.state.append(signed)
        self.tree.append(signed.leaf)
        self.leaves.append(signed.leaf)
        return index

    def grant(self, agency: str = "DCFS", **terms: Any) -> int:
        made_at = terms.pop("made_at", format_timestamp(T0))
        return self.add(
            self.agency_entry(agency, type="GRANT", made_at=made_at, grant=grant_terms(**terms))
        )

    def ref(self, index: int) -> dict[str, Any]:
        return {"index": index, "leaf_hash": self.tree.leaf_hash_at(index).hex()}

    def revoke(self, index: int, agency: str = "DCFS", **fields: Any) -> int:
        consent_id = self.state.grants[index].terms.consent_id
        return self.add(
            self.agency_entry(
                agency,
                type="REVOKE",
                revokes=self.ref(index),
                consent_id=consent_id,
                reason="client_request",
                **fields,
            )
        )

    def access(self, grant: int | None = None, **fields: Any) -> int:
        """ACCESS: corrections (DOC) was shown child welfare's client-1, on `grant`."""
        data: dict[str, Any] = {
            "type": "ACCESS",
            "basis": "consent" if grant is not None else "agreement",
            "disclosing_program": "child_welfare",
            "subject": record_ref("client-1"),
            "requester_program": "corrections",
            "requester_staff": "cm-0007",
            "requester_record": record_ref("doc-client-1"),
            "data_classes": ["existence"],
            "checkpoint_size": len(self.tree),
        }
        if grant is not None:
            data["grant"] = self.ref(grant)
            data["data_classes"] = ["existence", "contact"]
        data.update(fields)
        return self.add(self.hub_entry(**data))

    def read_as(self, agency: str | None, start: int = 0) -> list[dict[str, Any]]:
        """The entries from `start` as the hub shows them to `agency` (None: an auditor)."""
        return [
            as_read_by(agency, i, parse_leaf(leaf), self.state, self.log)
            for i, leaf in enumerate(self.leaves[start:], start=start)
        ]

    def checkpoint(self, size: int | None = None) -> str:
        size = len(self.tree) if size is None else size
        return sign_checkpoint(Checkpoint(LOG_NAME, size, self.tree.root(size)), self.log)

    def rows(self) -> list[tuple[int, bytes, bytes]]:
        return [(i, leaf, self.tree.leaf_hash_at(i)) for i, leaf in enumerate(self.leaves)]
