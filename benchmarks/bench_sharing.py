""" "Is this client shared?" latency with 1,000,000 stored records and 100,000 ledger
entries (PPRL_BENCH_SHARING_RECORDS, PPRL_BENCH_SHARING_ENTRIES shrink it).

A real hub process (`pprl hub serve`) on loopback with a SQLite file. Five agencies of
200,000 records each; 150,000 clusters across child welfare, corrections and family
employment; every record assigned to a case manager with sealed contact details;
milestones for the clients that are asked about; 100,000 ledger entries, almost all
signed GRANTs. The timed part is 500 sequential case-manager questions over HTTP, each
deciding every level from the ledger and appending its ACCESS entries. Target: p95 under
50 ms.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, Engine, text
from sqlmodel import Session

from benchmarks._hub import bench_hub, hub_keys
from consent import (
    HUB_SIGNER,
    LogKey,
    format_timestamp,
    leaf_hash,
    registration_statement,
    sign_entry,
    validate_entry,
)
from hub.crypto import DataCipher, contact_context, milestone_context
from hub.db import create_db_engine, table_of
from hub.migrate import upgrade
from hub.models import (
    Assignment,
    Encoding,
    LedgerEntry,
    Link,
    LinkageRun,
    Milestone,
    RecordCluster,
)
from hub.services.registry import register_agency
from keys import AgencyIdentity, Role, issue_token

AGENCIES = {
    "DCFS": "child_welfare",
    "DOC": "corrections",
    "DWD": "family_employment",
    "DVR": "vocational_rehab",
    "DJJ": "juvenile_justice",
}
QUESTIONS = 500


def _ref(agency: str, i: int) -> str:
    return hashlib.sha256(f"{agency}-{i}".encode()).hexdigest()


def _insert(db: Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    table = table_of(model)
    for start in range(0, len(rows), 20_000):
        db.execute(table.insert(), rows[start : start + 20_000])


def _populate(engine: Engine, cipher: DataCipher, per_agency: int, clusters: int) -> None:
    """Encodings, assignments, clusters, links and milestones, straight into the tables."""
    now = datetime.now(UTC)
    clk = bytes(128)
    with engine.begin() as db:
        _insert(
            db,
            LinkageRun,
            [
                {
                    "run_id": 1,
                    "kind": "full",
                    "status": "succeeded",
                    "requested_by": "bench",
                    "progress": 1.0,
                    "stage": "done",
                    "created_at": now,
                    "finished_at": now,
                }
            ],
        )
        for agency in AGENCIES:
            _insert(
                db,
                Encoding,
                [
                    {
                        "agency_id": agency,
                        "ref": _ref(agency, i),
                        "clk": clk,
                        "epoch": "2026-11",
                        "schema_fingerprint": "bench",
                        "updated_at": now,
                        "seq": i,
                    }
                    for i in range(per_agency)
                ],
            )
            assignments = []
            for i in range(per_agency):
                ref = _ref(agency, i)
                contact = {
                    "display_name": f"Staff {i % 997}",
                    "phone": "(555) 010-0000",
                    "email": f"cm{i % 2000}@{agency.lower()}.example.gov",
                }
                sealed = cipher.seal(json.dumps(contact).encode(), contact_context(agency, ref))
                assignments.append(
                    {
                        "agency_id": agency,
                        "ref": ref,
                        "contact": sealed,
                        "case_manager_id": f"cm-{i % 2000:04d}",
                        "updated_at": now,
                    }
                )
            _insert(db, Assignment, assignments)
        members: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        milestones: list[dict[str, Any]] = []
        for c in range(clusters):
            group = [("DCFS", c), ("DOC", c)] + ([("DWD", c)] if c % 3 == 0 else [])
            for agency, i in group:
                members.append(
                    {"agency_id": agency, "ref": _ref(agency, i), "cluster_id": c + 1, "run_id": 1}
                )
            for agency, i in group[1:]:
                links.append(
                    {
                        "agency_a": "DCFS",
                        "ref_a": _ref("DCFS", c),
                        "agency_b": agency,
                        "ref_b": _ref(agency, i),
                        "score": 0.9,
                        "review": False,
                        "cluster_id": c + 1,
                        "run_id": 1,
                    }
                )
        for c in range(min(clusters, 20_000)):
            for agency, goal in (("DCFS", "Stable housing"), ("DOC", "Complete supervision")):
                ref = _ref(agency, c)
                plan = {
                    "goal": goal,
                    "milestone": "Next step",
                    "status": "in_progress",
                    "service_kind": "housing" if agency == "DCFS" else "probation",
                    "target_end": "2027-01-15",
                }
                milestones.append(
                    {
                        "agency_id": agency,
                        "ref": ref,
                        "milestone_id": "m1",
                        "updated_at": now,
                        "plan": cipher.seal(
                            json.dumps(plan).encode(), milestone_context(agency, ref, "m1")
                        ),
                    }
                )
        _insert(db, RecordCluster, members)
        _insert(db, Link, links)
        _insert(db, Milestone, milestones)


def _ledger(
    engine: Engine, log: LogKey, identities: dict[str, AgencyIdentity], entries: int, clusters: int
) -> None:
    """Registrations, then GRANTs by corrections and family employment about clustered
    records, written as stored leaves (the hub replays and checks them when it starts)."""
    now = datetime.now(UTC).replace(microsecond=0)
    leaves = []
    for identity in identities.values():
        fields = {
            "v": 1,
            "signer": HUB_SIGNER,
            "key_id": log.signing_key_id,
            "made_at": format_timestamp(now - timedelta(days=2)),
            **registration_statement(identity.public_keys()),
        }
        leaves.append(sign_entry(validate_entry(fields), log).leaf)
    for n in range(entries - len(leaves)):
        agency = "DOC" if n % 3 else "DWD"
        c = (n // 2) % clusters if agency == "DOC" else (3 * (n // 3)) % clusters
        terms = {
            "consent_id": str(uuid.UUID(int=n)),
            "subject": _ref(agency, c),
            "disclosing_program": AGENCIES[agency],
            "recipient_programs": ["child_welfare"],
            "recipient_classes": [],
            "data_classes": ["existence", "contact", "plan"],
            "purposes": ["care_coordination"],
            "actions": ["view"],
            "effective_from": format_timestamp(now - timedelta(days=1)),
            "expires_at": format_timestamp(now + timedelta(days=365)),
            "regulatory_basis": ["state_statute"],
            "form_sha256": "ab" * 32,
            "signer_type": "client",
            "signed_at": format_timestamp(now - timedelta(days=1)),
            "collected_by": "cm-0042",
        }
        fields = {
            "v": 1,
            "type": "GRANT",
            "signer": agency,
            "key_id": identities[agency].signing_key_id,
            "made_at": format_timestamp(now - timedelta(hours=1)),
            "grant": terms,
        }
        leaves.append(sign_entry(validate_entry(fields), identities[agency]).leaf)
    with engine.begin() as db:
        _insert(
            db,
            LedgerEntry,
            [
                {"entry_index": i, "leaf": leaf, "leaf_hash": leaf_hash(leaf), "appended_at": now}
                for i, leaf in enumerate(leaves)
            ],
        )
        db.execute(text("UPDATE ledger_head SET size = :n WHERE id = 1"), {"n": len(leaves)})
    with Session(engine) as session:
        for identity in identities.values():
            register_agency(session, identity.public_keys(), now - timedelta(days=2))
        session.commit()


def run() -> None:
    """Measure and print."""
    per_agency = int(os.environ.get("PPRL_BENCH_SHARING_RECORDS", "1000000")) // len(AGENCIES)
    entries = int(os.environ.get("PPRL_BENCH_SHARING_ENTRIES", "100000"))
    clusters = min(150_000, per_agency)
    console = Console(width=120)
    with tempfile.TemporaryDirectory(prefix="pprl-bench-sharing-") as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'hub.db'}"
        engine = create_db_engine(url)
        upgrade(engine)
        log = hub_keys(tmp)
        identities = {a: AgencyIdentity.create(a, (p,)) for a, p in AGENCIES.items()}
        started = time.perf_counter()
        _ledger(engine, log, identities, entries, clusters)
        _populate(engine, DataCipher.from_file(tmp / "data.key"), per_agency, clusters)
        engine.dispose()
        build = time.perf_counter() - started
        with bench_hub(tmp, url, checkpoint_interval_seconds="3600") as hub:
            latencies, shown, first = _ask(hub.base, identities["DCFS"], clusters)
    latencies.sort()
    p50, p95, p99 = (latencies[int(q * (len(latencies) - 1))] * 1000 for q in (0.5, 0.95, 0.99))
    table = Table("measure", "result", "target", title='"is this client shared?" at scale')
    table.add_row(
        f"stored: {per_agency * len(AGENCIES):,} records, {entries:,} ledger entries",
        f"built in {build:.0f} s; the hub's first answer (ledger replayed and checked) "
        f"{first:.1f} s",
        "",
    )
    table.add_row(
        f"{QUESTIONS} questions over HTTP, each appending its ACCESS entries",
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms; {shown} answers shared",
        "p95 < 50 ms " + ("[green]met[/]" if p95 < 50 else "[red]missed[/]"),
    )
    console.print(table)


def _ask(base: str, dcfs: AgencyIdentity, clusters: int) -> tuple[list[float], int, float]:
    rng = random.Random(11)  # noqa: S311  (which clients to ask about, not a secret)
    sample = rng.sample(range(min(clusters, 20_000)), QUESTIONS + 1)
    tokens: dict[str, str] = {}
    latencies: list[float] = []
    shown = 0
    first = 0.0
    with httpx.Client(base_url=base, timeout=300) as client:
        for n, i in enumerate(sample):
            staff = f"cm-{i % 2000:04d}"
            token = tokens.get(staff) or issue_token(
                dcfs,
                subject=staff,
                audience="pprl-hub",
                roles=[Role.CASE_MANAGER],
                lifetime=timedelta(minutes=30),
            )
            tokens[staff] = token
            started = time.perf_counter()
            response = client.get(
                f"/v1/clients/{_ref('DCFS', i)}/shared",
                headers={"Authorization": f"Bearer {token}"},
            )
            seconds = time.perf_counter() - started
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            if n == 0:
                first = seconds  # includes replaying the ledger: not counted
                continue
            latencies.append(seconds)
            shown += bool(body["shared"])
    return latencies, shown, first
