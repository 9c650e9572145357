"""The consent ledger at 1,000,000 entries (PPRL_BENCH_LEDGER_SIZE to change it).

Builds a real ledger (three registered agencies, then signed GRANT entries with distinct
consent ids and subjects) in a SQLite hub database, then measures what the design's
table asks for: full hash verification of the stored ledger (target under 10 s), the
signature re-verification rate, and inclusion/consistency proof generation and
verification at that size (target under 1 ms to verify).
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, update
from sqlmodel import Session, col

from consent import (
    HUB_SIGNER,
    Checkpoint,
    ConsentState,
    LogKey,
    MerkleTree,
    format_timestamp,
    leaf_hash,
    parse_leaf,
    registration_statement,
    sign_checkpoint,
    sign_entry,
    validate_entry,
    verify_ledger,
)
from consent._internal.merkle import verify_consistency, verify_inclusion
from hub.db import create_db_engine
from hub.migrate import upgrade
from hub.models import LedgerCheckpoint, LedgerEntry, LedgerHead
from hub.services.ledger import stored_checkpoints, stored_rows
from keys import AgencyIdentity, canonical

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CHUNK = 20_000
CHECKPOINT_EVERY = 100_000


def _registration(log: LogKey, identity: AgencyIdentity) -> bytes:
    entry = validate_entry(
        {
            "v": 1,
            "signer": HUB_SIGNER,
            "key_id": log.signing_key_id,
            "made_at": format_timestamp(T0 - timedelta(days=30)),
            **registration_statement(identity.public_keys()),
        }
    )
    return sign_entry(entry, log).leaf


def _template(identity: AgencyIdentity) -> tuple[bytes, str, str]:
    """A signed-ready GRANT's canonical bytes and the two values to vary per entry."""
    consent_id, subject = str(uuid.UUID(int=0)), "0" * 64
    entry = validate_entry(
        {
            "v": 1,
            "type": "GRANT",
            "signer": identity.agency_id,
            "key_id": identity.signing_key_id,
            "made_at": format_timestamp(T0),
            "grant": {
                "consent_id": consent_id,
                "subject": subject,
                "disclosing_program": "child_welfare",
                "recipient_programs": ["corrections", "juvenile_justice"],
                "recipient_classes": [],
                "data_classes": ["existence", "contact", "plan"],
                "purposes": ["care_coordination"],
                "actions": ["view"],
                "effective_from": format_timestamp(T0 - timedelta(days=1)),
                "expires_at": format_timestamp(T0 + timedelta(days=365)),
                "regulatory_basis": ["state_statute"],
                "form_sha256": "ab" * 32,
                "signer_type": "client",
                "signed_at": format_timestamp(T0 - timedelta(days=1)),
                "collected_by": "cm-0042",
            },
        }
    )
    body = canonical.canonical_json(entry.model_dump(mode="json", exclude_none=True))
    return body, consent_id, subject


def _sign_chunk(args: tuple[bytes, bytes, str, str, int, int]) -> list[bytes]:
    """Leaves for grants start..end: same canonical shape, distinct ids (a worker)."""
    private, body, consent_id, subject, start, end = args
    key = Ed25519PrivateKey.from_private_bytes(private)
    leaves = []
    for i in range(start, end):
        # Same length and alphabet, so the bytes stay canonical JSON.
        entry_bytes = body.replace(consent_id.encode(), str(uuid.UUID(int=i + 1)).encode()).replace(
            subject.encode(), f"{i:064x}".encode()
        )
        leaves.append(entry_bytes + b"\n" + canonical.b64encode(key.sign(entry_bytes)).encode())
    return leaves


def _build(size: int, db: Path, console: Console) -> tuple[LogKey, MerkleTree]:
    log = LogKey.generate("bench.pprl-hub/ledger")
    agencies = [
        AgencyIdentity.create("DCFS", ("child_welfare",), now=T0),
        AgencyIdentity.create("DJJ", ("juvenile_justice",), now=T0),
        AgencyIdentity.create("DOC", ("corrections",), now=T0),
    ]
    head = [_registration(log, a) for a in agencies]
    body, consent_id, subject = _template(agencies[0])
    private = agencies[0].signing_key.private_bytes_raw()
    engine = create_db_engine(f"sqlite:///{db}")
    upgrade(engine)
    started = time.perf_counter()
    tree = MerkleTree()
    jobs = [
        (private, body, consent_id, subject, s, min(s + CHUNK, size - len(head)))
        for s in range(0, size - len(head), CHUNK)
    ]
    with Session(engine) as session, ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        chunks = [head, *pool.map(_sign_chunk, jobs)]
        for chunk in chunks:
            rows = []
            for leaf in chunk:
                h = leaf_hash(leaf)
                index = tree.append_hash(h)
                rows.append({"entry_index": index, "leaf": leaf, "leaf_hash": h, "appended_at": T0})
                if len(tree) % CHECKPOINT_EVERY == 0 or len(tree) == size:
                    note = sign_checkpoint(Checkpoint(log.name, len(tree), tree.root()), log)
                    session.execute(
                        insert(LedgerCheckpoint),
                        [{"size": len(tree), "root": tree.root(), "note": note, "issued_at": T0}],
                    )
            session.execute(insert(LedgerEntry), rows)
        session.execute(update(LedgerHead).where(col(LedgerHead.id) == 1).values(size=len(tree)))
        session.commit()
    engine.dispose()
    seconds = time.perf_counter() - started
    mib = db.stat().st_size / 2**20
    console.print(f"built a {size:,}-entry ledger in {seconds:.1f} s ({mib:.0f} MiB of SQLite)")
    return log, tree


def run() -> None:
    """Build the ledger and print the measurements against their targets."""
    size = int(os.environ.get("PPRL_BENCH_LEDGER_SIZE", "1000000"))
    console = Console(width=120)
    with tempfile.TemporaryDirectory(prefix="pprl-bench-ledger-") as tmp:
        db = Path(tmp) / "hub.db"
        log, tree = _build(size, db, console)
        engine = create_db_engine(f"sqlite:///{db}")
        with Session(engine) as session:
            started = time.perf_counter()
            report = verify_ledger(
                stored_rows(session), stored_checkpoints(session), log.verifier, check_entries=False
            )
            hash_seconds = time.perf_counter() - started
            sample = [
                leaf for (_, leaf, _), _ in zip(stored_rows(session), range(20_000), strict=False)
            ]
        engine.dispose()
        state = ConsentState(log_key=log.private_key.public_key())
        started = time.perf_counter()
        for leaf in sample:
            state.append(parse_leaf(leaf))
        replay_rate = len(sample) / (time.perf_counter() - started)

        rng = random.Random(1)  # noqa: S311  (benchmark sampling)
        root = tree.root()
        gen, ver = [], []
        for _ in range(1000):
            index = rng.randrange(size)
            t = time.perf_counter()
            proof = tree.inclusion_proof(index)
            gen.append(time.perf_counter() - t)
            t = time.perf_counter()
            verify_inclusion(index, size, tree.leaf_hash_at(index), proof, root)
            ver.append(time.perf_counter() - t)
        cgen, cver = [], []
        for _ in range(200):
            old = rng.randrange(1, size)
            t = time.perf_counter()
            proof = tree.consistency_proof(old)
            cgen.append(time.perf_counter() - t)
            t = time.perf_counter()
            verify_consistency(old, size, tree.root(old), root, proof)
            cver.append(time.perf_counter() - t)

    table = Table("measure", "result", "target", title=f"consent ledger, {size:,} entries")
    table.add_row(
        "full hash verification (read from SQLite, leaf hashes, tree, every checkpoint)",
        f"{hash_seconds:.2f} s ({report.checkpoints} checkpoints)",
        "< 10 s " + ("[green]met[/]" if hash_seconds < 10 else "[red]missed[/]"),
    )
    table.add_row(
        "signature re-verification + replay, one core (first 20,000 entries)",
        f"{replay_rate:,.0f} entries/s ({size / replay_rate:.0f} s for all)",
        "reported",
    )
    us = 1e6
    table.add_row(
        "inclusion proof generation (mean of 1,000)", f"{statistics.mean(gen) * us:.0f} us", ""
    )
    table.add_row(
        "inclusion proof verification (mean / max of 1,000)",
        f"{statistics.mean(ver) * us:.0f} us / {max(ver) * us:.0f} us",
        "< 1 ms " + ("[green]met[/]" if max(ver) < 1e-3 else "[red]missed[/]"),
    )
    table.add_row(
        "consistency proof generation (mean of 200)", f"{statistics.mean(cgen) * us:.0f} us", ""
    )
    table.add_row(
        "consistency proof verification (mean / max of 200)",
        f"{statistics.mean(cver) * us:.0f} us / {max(cver) * us:.0f} us",
        "< 1 ms " + ("[green]met[/]" if max(cver) < 1e-3 else "[red]missed[/]"),
    )
    console.print(table)
