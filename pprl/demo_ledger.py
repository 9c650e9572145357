"""The consent-ledger part of `pprl demo`: every line reports something just done."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlmodel import Session

from consent import (
    LogKey,
    Witness,
    attach_proof,
    check_decision_proof,
    disclosure_decision,
    format_timestamp,
    open_checkpoint,
    registration_statement,
    sign_entry,
    validate_entry,
    verify_ledger,
)
from consent.entries import DataClass
from hub.db import create_db_engine
from hub.migrate import upgrade
from hub.services.ledger import HubLedger, stored_checkpoints, stored_rows
from keys import AgencyIdentity


def record_ref(agency_local_key: bytes, case_number: str) -> str:
    """The pseudonymous reference a node shows the hub instead of its case number."""
    return hmac.new(agency_local_key, case_number.encode(), hashlib.sha256).hexdigest()


def ledger_story(
    out: Console, root: Path, identities: dict[str, AgencyIdentity], now: datetime
) -> str:
    """Run the ledger part of the demo; returns the database URL it used."""
    url = f"sqlite:///{root / 'hub.db'}"
    engine = create_db_engine(url)
    upgrade(engine)
    log = LogKey.generate("demo.pprl-hub.local/consent-ledger")
    log.save(root / "hub-log.key")
    ledger = HubLedger(log)
    witness = Witness(root / "keys" / "DOC" / "witness.json", log.verifier)

    def checkpoint(session: Session) -> str:
        note = ledger.issue_checkpoint(session, now=now)
        if note is None:  # pragma: no cover - every step appends first
            raise RuntimeError("nothing to checkpoint")
        known = witness.latest()
        old = known[0].size if known else 0
        proof = ledger.tree.consistency_proof(old) if old else []
        witness.update(note, proof)
        return note

    with Session(engine) as session:
        for identity in identities.values():
            ledger.append_hub_entry(
                session, registration_statement(identity.public_keys()), now=now
            )
        registered = len(identities)
        out.print(
            f"the hub registered {registered} agencies as signed KEY entries (log {log.name})"
        )

        dcfs = identities["DCFS"]
        local_key = hashlib.sha256(b"demo DCFS node-local pseudonym key").digest()
        client = record_ref(local_key, "DCFS-2024-000123")
        grant = _grant(dcfs, client, now)
        index = ledger.append(session, grant, now=now)
        out.print(
            f"DCFS recorded a signed GRANT (entry {index}): client {client[:12]}... consents to "
            "corrections seeing existence and contact details for a year"
        )
        note = checkpoint(session)
        size = open_checkpoint(note, log.verifier).size
        out.print(f"the hub signed a checkpoint at size {size}; DOC's witness accepted it")

        data_classes: tuple[DataClass, ...] = ("contact", "plan")
        for data_class in data_classes:
            decision = disclosure_decision(
                ledger.state,
                requester_program="corrections",
                target_program="child_welfare",
                target_record=client,
                data_class=data_class,
                at=now,
            )
            if decision.allowed:
                decision = attach_proof(decision, ledger.tree, note, log.verifier)
                proven = check_decision_proof(decision, log.verifier)
                out.print(
                    f"corrections asks for {data_class}: [green]shown[/] ({decision.reason}); "
                    f"consent verified by an inclusion proof at checkpoint {proven.size}"
                )
                access, _ = ledger.append_hub_entry(
                    session, _access(ledger, index, client, data_class), now=now
                )
                out.print(f"  the disclosure itself is ACCESS entry {access}")
            else:
                out.print(
                    f"corrections asks for {data_class}: [yellow]withheld[/] ({decision.reason})"
                )

        ledger.append(session, _revoke(dcfs, ledger, index, now + timedelta(minutes=5)), now=now)
        after = disclosure_decision(
            ledger.state,
            requester_program="corrections",
            target_program="child_welfare",
            target_record=client,
            data_class="contact",
            at=now + timedelta(minutes=6),
        )
        withheld = f"[yellow]withheld[/] ({after.reason})"
        out.print(f"the client revoked consent; corrections asks again: {withheld}")
        checkpoint(session)
        session.commit()

        report = verify_ledger(stored_rows(session), stored_checkpoints(session), log.verifier)
    engine.dispose()
    out.print(
        f"ledger verified from the database: {report.size} entries, {report.checkpoints} signed "
        "checkpoints, every signature and rule re-checked; DOC's witness holds the latest"
    )
    return url


def _grant(dcfs: AgencyIdentity, client: str, now: datetime) -> bytes:
    entry = validate_entry(
        {
            "v": 1,
            "type": "GRANT",
            "signer": "DCFS",
            "key_id": dcfs.signing_key_id,
            "made_at": format_timestamp(now),
            "grant": {
                "consent_id": str(uuid.uuid4()),
                "subject": client,
                "disclosing_program": "child_welfare",
                "recipient_programs": ["corrections"],
                "recipient_classes": [],
                "data_classes": ["existence", "contact"],
                "purposes": ["care_coordination"],
                "actions": ["view", "contact_case_manager"],
                "effective_from": format_timestamp(now - timedelta(hours=1)),
                "expires_at": format_timestamp(now + timedelta(days=365)),
                "regulatory_basis": ["state_statute"],
                "form_sha256": hashlib.sha256(b"scanned consent form").hexdigest(),
                "signer_type": "client",
                "signed_at": format_timestamp(now - timedelta(hours=1)),
                "collected_by": "cm-0042",
            },
        }
    )
    return sign_entry(entry, dcfs).leaf


def _access(ledger: HubLedger, grant: int, client: str, data_class: str) -> dict[str, Any]:
    return {
        "type": "ACCESS",
        "basis": "consent",
        "grant": {"index": grant, "leaf_hash": ledger.tree.leaf_hash_at(grant).hex()},
        "disclosing_program": "child_welfare",
        "subject": client,
        "requester_program": "corrections",
        "requester_staff": "cm-0007",
        "requester_record": hashlib.sha256(b"demo DOC record").hexdigest(),
        "data_classes": [data_class],
        "checkpoint_size": len(ledger.tree),
    }


def _revoke(dcfs: AgencyIdentity, ledger: HubLedger, grant: int, now: datetime) -> bytes:
    entry = validate_entry(
        {
            "v": 1,
            "type": "REVOKE",
            "signer": "DCFS",
            "key_id": dcfs.signing_key_id,
            "made_at": format_timestamp(now),
            "revokes": {"index": grant, "leaf_hash": ledger.tree.leaf_hash_at(grant).hex()},
            "consent_id": ledger.state.grants[grant].terms.consent_id,
            "reason": "client_request",
        }
    )
    return sign_entry(entry, dcfs).leaf
