"""Builders for the hub API tests: encodings batches, uploads, links, grants and the
three-program scenario's pieces. Each call makes fresh rows in the test's own session."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session, col

from consent import LogKey, format_timestamp, parse_leaf, sign_entry, validate_entry
from hub.context import HubContext
from hub.disclosure import DisclosureEngine
from hub.models import LedgerEntry, Link, LinkageRun, Notification, RecordCluster
from hub.settings import HubSettings
from keys import AgencyIdentity, LocalIssuer, Role, canonical, issue_token
from tests.factories import PROGRAMS, grant_terms

OPERATOR_ISSUER = "https://idp.test/realms/pprl"
FINGERPRINT = "ab" * 32
EPOCH = "2026-11"


@dataclass
class Api:
    client: TestClient
    session: Session
    settings: HubSettings
    log: LogKey
    operators: LocalIssuer
    identities: dict[str, AgencyIdentity] = field(default_factory=dict)

    @property
    def hub(self) -> HubContext:
        hub: HubContext = self.client.app.state.hub  # type: ignore[attr-defined]
        return hub

    @property
    def disclosure(self) -> DisclosureEngine:
        """The engine the hub's routes answer with."""
        assert self.hub.ledger is not None
        return DisclosureEngine(self.hub.ledger, self.hub.cipher, self.hub.settings)

    def checkpoint(self) -> str | None:
        """Sign a checkpoint now, as the hub's schedule would."""
        ledger = self.hub.ledger
        assert ledger is not None
        return ledger.issue_checkpoint(self.session)

    def operator(self, role: Role = Role.HUB_OPERATOR) -> dict[str, str]:
        token = self.operators.issue(subject="op-1", audience="pprl-hub", roles=[role])
        return {"Authorization": f"Bearer {token}"}

    def as_(self, agency: str, subject: str = "node-1", *roles: Role) -> dict[str, str]:
        token = issue_token(
            self.identities[agency],
            subject=subject,
            audience="pprl-hub",
            roles=roles or (Role.AGENCY_NODE,),
        )
        return {"Authorization": f"Bearer {token}"}

    def register(self, *names: str) -> None:
        for name in names:
            identity = AgencyIdentity.create(name, (PROGRAMS.get(name, name.lower()),))
            response = self.client.post(
                "/v1/agencies", json=identity.public_keys().model_dump(), headers=self.operator()
            )
            assert response.status_code == 201, response.text
            self.identities[name] = identity

    def post(self, path: str, body: Any, headers: dict[str, str], key: str | None = None) -> Any:
        if key is not None:
            headers = {**headers, "Idempotency-Key": key}
        return self.client.post(path, json=body, headers=headers)


def make_settings(tmp: Path, url: str, **overrides: Any) -> tuple[HubSettings, LogKey, LocalIssuer]:
    log = LogKey.generate("hub.test/consent-ledger")
    log.save(tmp / "log.key")
    data_key = tmp / "data.key"
    data_key.write_bytes(os.urandom(32))
    data_key.chmod(0o600)
    operators = LocalIssuer.create(OPERATOR_ISSUER)
    operators.save(tmp / "idp")
    values: dict[str, Any] = {
        "database_url": url,
        "log_key_file": tmp / "log.key",
        "data_key_file": data_key,
        "operator_issuer": OPERATOR_ISSUER,
        "operator_jwks_file": tmp / "idp" / "jwks.json",
        "schema_fingerprint": FINGERPRINT,
        "secret_epoch": EPOCH,
        "max_batch_records": 500,
        "max_request_bytes": 2 * 1024 * 1024,
    }
    values.update(overrides)
    return HubSettings(**values), log, operators


CANARY = canonical.b64encode(hashlib.sha256(b"canary").digest())


def ref(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def encodings(n: int, *, start: int = 0, canary: str = CANARY, **changes: Any) -> dict[str, Any]:
    body = {
        "epoch": EPOCH,
        "schema_fingerprint": FINGERPRINT,
        "canary_digest": canary,
        "upserts": [
            {"ref": ref(f"r{i}"), "clk": canonical.b64encode(os.urandom(128))}
            for i in range(start, start + n)
        ],
        "removals": [],
    }
    body.update(changes)
    return body


RNG = np.random.default_rng(20261123)


PEOPLE = RNG.random((200, 1024)) < 0.55


def clk(person: int, noise: float = 0.04, seed: int = 0) -> str:
    rng = np.random.default_rng(person * 1000 + seed)
    bits = PEOPLE[person] ^ (rng.random(1024) < noise)
    return canonical.b64encode(np.packbits(bits).tobytes())


def sync(
    api: Api,
    agency: str,
    key: str,
    upserts: dict[str, int | tuple[int, int]],
    removals: list[str] = [],  # noqa: B006  (never mutated)
) -> None:
    """Upload {label: person} (or (person, seed) for a re-encoding) and removals."""
    body = {
        "epoch": EPOCH,
        "schema_fingerprint": FINGERPRINT,
        "canary_digest": CANARY,
        "upserts": [
            {
                "ref": ref(label),
                "clk": clk(*(person if isinstance(person, tuple) else (person, 0))),
            }
            for label, person in upserts.items()
        ],
        "removals": [ref(label) for label in removals],
    }
    response = api.post(
        f"/v1/agencies/{agency}/encodings/batches", body, api.as_(agency), key=f"batch-{key}"
    )
    assert response.status_code == 200, response.text


def run(api: Api, **body: Any) -> dict[str, Any]:
    response = api.client.post("/v1/linkage/runs", json=body, headers=api.operator())
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    assert response.json()["status"] == "queued"
    done = api.client.get(location, headers=api.operator())
    assert done.status_code == 200
    result: dict[str, Any] = done.json()
    return result


def grant_leaf(api: Api, agency: str = "DCFS", **terms: Any) -> bytes:
    identity = api.identities[agency]
    now = datetime.now(UTC)
    when = {
        "signed_at": format_timestamp(now - timedelta(days=1)),
        "effective_from": format_timestamp(now - timedelta(days=1)),
        "expires_at": format_timestamp(now + timedelta(days=365)),
    }
    entry = validate_entry(
        {
            "v": 1,
            "type": "GRANT",
            "signer": agency,
            "key_id": identity.signing_key_id,
            "made_at": format_timestamp(now),
            "grant": grant_terms(**{**when, **terms}),
        }
    )
    return sign_entry(entry, identity).leaf


A, B, C, D, E = (ref(f"client-{x}") for x in "abcde")


AGENCIES = ("DCFS", "DOC", "DWD")


TODAY = datetime.now(UTC).date()


def days_from_today(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def upload(
    api: Api, agency: str, refs: list[str], assigned: dict[str, tuple[str, dict[str, Any]]]
) -> None:
    body = encodings(0)
    body["upserts"] = [{"ref": r, "clk": encodings(1)["upserts"][0]["clk"]} for r in refs]
    node = api.as_(agency)
    assert (
        api.post(f"/v1/agencies/{agency}/encodings/batches", body, node, "enc-00001").status_code
        == 200
    )
    upserts = [
        {"ref": r, "case_manager_id": cm, "contact": contact}
        for r, (cm, contact) in assigned.items()
    ]
    response = api.post(
        f"/v1/agencies/{agency}/assignments/batches", {"upserts": upserts}, node, "asg-00001"
    )
    assert response.status_code == 200, response.text


def milestones(
    api: Api, agency: str, items: list[dict[str, Any]], batch: str = "pln-00001"
) -> None:
    response = api.post(
        f"/v1/agencies/{agency}/milestones/batches", {"upserts": items}, api.as_(agency), batch
    )
    assert response.status_code == 200, response.text


def required_housing(api: Api, batch: str = "pln-00002") -> None:
    """Corrections adds a condition of supervision for B (linked to DCFS's A): move into
    an approved address, stuck on a waitlist, due two days after A's lease (same need:
    a conflict, a non-negotiable one). Every field of the milestone model is set."""
    milestones(
        api,
        "DOC",
        [
            {
                "ref": B,
                "milestone_id": "p3",
                "goal": "Approved residence",
                "milestone": "Move into an approved address",
                "service_kind": "housing",
                "status": "stuck",
                "stuck_reason": "waitlist",
                "stuck_since": days_from_today(-40),
                "target_start": days_from_today(-50),
                "target_end": days_from_today(22),
                "planned_dosage": 12,
                "actual_dosage": 3,
                "dosage_unit": "sessions",
                "mandate": "condition_of_supervision",
                "buy_in": "partly",
                "resources": "Deposit assistance",
                "aftercare": True,
            }
        ],
        batch,
    )


def link(
    api: Api, run_id: int, cluster: int, pairs: list[tuple[str, str, str, str, float, bool]]
) -> None:
    for agency_a, ref_a, agency_b, ref_b, score, review in pairs:
        api.session.add(
            Link(
                agency_a=agency_a,
                ref_a=ref_a,
                agency_b=agency_b,
                ref_b=ref_b,
                score=score,
                review=review,
                cluster_id=cluster,
                run_id=run_id,
            )
        )
        for agency, record in ((agency_a, ref_a), (agency_b, ref_b)):
            if api.session.get(RecordCluster, (agency, record)) is None:
                api.session.add(
                    RecordCluster(agency_id=agency, ref=record, cluster_id=cluster, run_id=run_id)
                )
    api.session.flush()


def grant(api: Api, agency: str, **terms: Any) -> int:
    return append(api, agency, grant_entry(api.identities[agency], **terms))


def grant_entry(identity: AgencyIdentity, **terms: Any) -> dict[str, Any]:
    """An unsigned GRANT entry by `identity`'s agency, in force from an hour ago for a
    year (`terms`: changes to `tests.factories.grant_terms`)."""
    agency = identity.agency_id
    now = datetime.now(UTC).replace(microsecond=0)
    data = {
        "v": 1,
        "type": "GRANT",
        "signer": agency,
        "key_id": identity.signing_key_id,
        "made_at": format_timestamp(now),
        "grant": grant_terms(
            signed_at=format_timestamp(now - timedelta(hours=1)),
            effective_from=format_timestamp(now - timedelta(hours=1)),
            expires_at=format_timestamp(now + timedelta(days=365)),
            **terms,
        ),
    }
    return data


def append(api: Api, agency: str, data: dict[str, Any]) -> int:
    from consent import sign_entry, validate_entry
    from keys import canonical

    signed = sign_entry(validate_entry(data), api.identities[agency])
    response = api.post(
        "/v1/ledger/entries", {"leaf": canonical.b64encode(signed.leaf)}, api.as_(agency)
    )
    assert response.status_code == 201, response.text
    return int(response.json()["index"])


def revoke(api: Api, agency: str, grant: int) -> int:
    ledger = api.hub.ledger
    assert ledger is not None
    ledger.sync(api.session)
    return append(
        api,
        agency,
        {
            "v": 1,
            "type": "REVOKE",
            "signer": agency,
            "key_id": api.identities[agency].signing_key_id,
            "made_at": format_timestamp(datetime.now(UTC).replace(microsecond=0)),
            "revokes": {"index": grant, "leaf_hash": ledger.tree.leaf_hash_at(grant).hex()},
            "consent_id": ledger.state.grants[grant].terms.consent_id,
            "reason": "client_request",
        },
    )


def add_notification(api: Api, run_id: int = 1) -> None:
    now = datetime.now(UTC)
    api.session.add(
        Notification(
            agency_id="DCFS",
            case_manager_id="cm-0001",
            kind="matches_changed",
            run_id=run_id,
            clients=1,
            created_at=now,
            email_status="pending",
            email_attempts=0,
            next_attempt_at=now,
        )
    )
    api.session.flush()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


def ask_shared(
    api: Api, record: str, subject: str = "cm-0001", *roles: Role, agency: str = "DCFS"
) -> Any:
    """GET /v1/clients/{record}/shared as a staff member (a case manager by default)."""
    return api.client.get(
        f"/v1/clients/{record}/shared",
        headers=api.as_(agency, subject, *(roles or (Role.CASE_MANAGER,))),
    )


def access_entries(api: Api) -> list[Any]:
    """Every ACCESS entry on the ledger, in order."""
    rows = api.session.execute(
        select(col(LedgerEntry.leaf)).order_by(col(LedgerEntry.entry_index))
    ).scalars()
    return [e for e in (parse_leaf(bytes(leaf)).entry for leaf in rows) if e.type == "ACCESS"]


def succeeded_run(api: Api) -> int:
    """A finished linkage run, for tests that store its clusters by hand."""
    run = LinkageRun(
        kind="full",
        status="succeeded",
        requested_by="op",
        progress=1.0,
        stage="done",
        created_at=datetime.now(UTC),
        finished_at=datetime.now(UTC),
    )
    api.session.add(run)
    api.session.flush()
    assert run.run_id is not None
    return run.run_id


def same_people(api: Api, run_id: int, agencies: tuple[str, ...], count: int) -> None:
    """Clusters 1..count, each holding record `{agency}-{i}` of every one of `agencies`."""
    for i in range(count):
        for agency in agencies:
            api.session.add(
                RecordCluster(
                    agency_id=agency, ref=ref(f"{agency}-{i}"), cluster_id=i + 1, run_id=run_id
                )
            )
    api.session.flush()


# --- a family (issue 21) -----------------------------------------------------------

KID, SIS, MUM = ref("fam-kid"), ref("fam-sis"), ref("fam-mum")
MUM_DOC, SIS_DJJ, MUM_DJJ = ref("fam-mum-doc"), ref("fam-sis-djj"), ref("fam-mum-djj")
HOME_DCFS, HOME_DJJ = ref("household-dcfs"), ref("household-djj")


CLKS: dict[str, str] = {}


def _upload(api: Api, agency: str, rows: list[dict[str, Any]], key: str) -> None:
    """One CLK for all of the agency's rows (the links are made by hand)."""
    body = encodings(0)
    clk = CLKS[agency] = encodings(1)["upserts"][0]["clk"]
    body["upserts"] = [{"clk": clk, **row} for row in rows]
    response = api.post(f"/v1/agencies/{agency}/encodings/batches", body, api.as_(agency), key)
    assert response.status_code == 200, response.text
    assigned = [
        {"ref": row["ref"], "case_manager_id": cm, "contact": {}}
        for row, cm in zip(rows, _managers(agency), strict=False)
        if not row.get("member_only")
    ]
    response = api.post(
        f"/v1/agencies/{agency}/assignments/batches",
        {"upserts": assigned},
        api.as_(agency),
        f"asg-{key}",
    )
    assert response.status_code == 200, response.text


def _managers(agency: str) -> list[str]:
    return {"DCFS": ["cm-0001", "cm-0002"], "DOC": ["cm-0007"], "DJJ": ["cm-0009"]}[agency]


def family_scenario(api: Api) -> None:
    """The family of `tests/hub/api/test_family.py` (its module notes tell it)."""
    api.register("DCFS", "DOC", "DJJ")
    home = {"ref": HOME_DCFS}
    _upload(
        api,
        "DCFS",
        [
            {"ref": KID, "household": {**home, "role": "child"}},
            {"ref": SIS, "household": {**home, "role": "child"}},
            {"ref": MUM, "household": {**home, "role": "parent_guardian"}, "member_only": True},
        ],
        "enc-dcfs-1",
    )
    _upload(api, "DOC", [{"ref": MUM_DOC}], "enc-doc-1")
    djj = {"ref": HOME_DJJ}
    _upload(
        api,
        "DJJ",
        [
            {"ref": SIS_DJJ, "household": {**djj, "role": "child"}},
            {"ref": MUM_DJJ, "household": {**djj, "role": "parent_guardian"}, "member_only": True},
        ],
        "enc-djj-1",
    )
    run = succeeded_run(api)
    link(
        api,
        run,
        1,
        [("DCFS", MUM, "DOC", MUM_DOC, 0.95, False), ("DJJ", MUM_DJJ, "DOC", MUM_DOC, 0.93, False)],
    )
    link(api, run, 2, [("DCFS", SIS, "DJJ", SIS_DJJ, 0.94, False)])


def mother_consents(api: Api, **terms: Any) -> int:
    """The mother consents at corrections to child welfare knowing she is served there
    (`terms`: changes to the grant); returns the grant's ledger index."""
    wanted = {
        "subject": MUM_DOC,
        "disclosing_program": "corrections",
        "recipient_programs": ["child_welfare"],
        "data_classes": ["existence"],
    }
    return grant(api, "DOC", **(wanted | terms))
