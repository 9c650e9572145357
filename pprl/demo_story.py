"""The demo's main story, for real over HTTP on loopback: five agencies' rosters are
validated and encoded, synced to a hub, linked; consent forms are recorded; a case
manager asks about a consented and a non-consented client; the quality summary and the
overlap table are printed; the ledger is verified."""

from __future__ import annotations

import csv
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlmodel import Session

from consent import LogKey, verify_ledger
from contract import LinkageRunIn, LinkageRunOut
from contract.client import HubClient
from hub.app import create_app
from hub.db import create_db_engine
from hub.migrate import upgrade
from hub.services.ledger import HubLedger, stored_checkpoints, stored_rows
from hub.settings import HubSettings
from keys import AgencyIdentity, LinkageSecret, LocalIssuer, Role
from linkage_node import load_schema, run_encoding_job
from linkage_node.hub_client import node_client
from linkage_node.job import STATE_FILE
from linkage_node.staff_file import load_staff
from linkage_node.state import NodeState
from linkage_node.sync import sync
from linkage_node.synthetic import linked_rosters, write_roster
from linkage_node.witness import NodeWitness
from pprl.demo_consent import MANAGER, consent_and_ask, plan_alerts_story, supervisor_of
from pprl.demo_family import family_story, plant_family
from pprl.demo_history import exit_story
from pprl.demo_report import report_story

ISSUER = "https://idp.demo.local/realms/pprl"
ROSTER_SIZE = 1000
SHARED = 0.15


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _serve(settings: HubSettings, port: int) -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the demo hub did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def hub_story(  # noqa: PLR0915  (a story told step by step)
    out: Console,
    *,
    root: Path,
    identities: dict[str, AgencyIdentity],
    programs: dict[str, str],
    secret: LinkageSecret,
    now: datetime,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Run the story; returns what the closing lines need."""
    out.rule("[bold]4. Rosters at each agency (synthetic people, realistic errors)")
    rosters = linked_rosters(list(identities), ROSTER_SIZE, shared=SHARED, seed=2026)
    family = plant_family(rosters)
    (root / "rosters").mkdir()
    for agency, rows in rosters.rows.items():
        write_roster(root / "rosters" / f"{agency}.csv", rows)
        _write_staff(root / "rosters" / f"{agency}-staff.csv", agency, rows)
    out.print(
        f"{len(identities)} rosters of {ROSTER_SIZE:,} records in {root / 'rosters'}; about "
        f"{SHARED:.0%} of each agency's clients are also served elsewhere, recorded with "
        "typos, nicknames, name changes, swapped dates, missing SSNs and moves; one "
        "family is listed as a household at child welfare and at corrections, each "
        "listing the member it does not serve as family only"
    )

    out.rule("[bold]5. The hub, on loopback")
    url = database_url or f"sqlite:///{root / 'hub.db'}"
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    log = LogKey.generate("hub.demo/consent-ledger")
    log.save(root / "hub-log.key")
    (root / "hub-data.key").write_bytes(os.urandom(32))
    (root / "hub-data.key").chmod(0o600)
    operators = LocalIssuer.create(ISSUER)
    operators.save(root / "operator-idp")
    schema = load_schema()
    settings = HubSettings(
        database_url=url,
        log_key_file=root / "hub-log.key",
        data_key_file=root / "hub-data.key",
        operator_issuer=ISSUER,
        operator_jwks_file=root / "operator-idp" / "jwks.json",
        secret_epoch=secret.epoch,
        schema_fingerprint=schema.fingerprint,
        checkpoint_interval_seconds=3600,
    )
    port = _free_port()
    # The hub's access log would drown the story; it still logs warnings and errors.
    logging.getLogger("pprl.hub.access").setLevel(logging.WARNING)
    operator = operators.issue(subject="op-0001", audience="pprl-hub", roles=[Role.HUB_OPERATOR])
    with _serve(settings, port) as base, HubClient(base, lambda: operator) as ops:
        for identity in identities.values():
            ops.register_agency(identity.public_keys().model_dump())
        out.print(f"hub at {base} (database {url}); {len(identities)} agencies registered")

        out.rule("[bold]6. Each node encodes its roster and syncs")
        table = Table("agency", "accepted", "encoded", "mean bits set", "sent to the hub")
        for agency, identity in identities.items():
            result = _encode(out, root, agency, schema, secret)
            node = node_client(base, identity)
            state = NodeState(root / "nodes" / agency / STATE_FILE, agency)
            try:
                report = sync(
                    state, agency, node, staff=load_staff(root / "rosters" / f"{agency}-staff.csv")
                )
            finally:
                state.close()
                node.close()
            table.add_row(
                agency,
                f"{result.roster.accepted:,}",
                f"{result.encoded:,}",
                f"{result.mean_popcount:.1%}",
                f"{report.records['encodings']:,} encodings, "
                f"{report.records['assignments']:,} assignments",
            )
        out.print(table)

        out.rule("[bold]7. Linkage (the hub sees encodings only)")
        run = _link(ops)
        counts, proposal = run.counts or {}, run.proposal or {}
        out.print(proposal.get("summary", ""))
        out.print(
            f"run {run.run_id}: {counts['clusters']:,} clusters, {counts['links']:,} links "
            f"({counts['links_for_review']} in the review band) at threshold "
            f"{run.threshold or 0:.3f} in {counts['seconds']:.1f} s"
        )
        truth = _truth_pairs(rosters.truth)
        out.print(f"(the generator knows {truth:,} pairs of records of the same person)")

        out.rule("[bold]8. Consent forms, plans, and a case manager's question")
        asked = consent_and_ask(
            out, base, url=url, root=root, identities=identities, programs=programs, now=now
        )

        plan_alerts_story(out, settings)

        out.rule("[bold]9. A client leaves corrections: history, not deletion")
        exited = exit_story(
            out,
            base,
            url=url,
            root=root,
            identities=identities,
            encode=lambda agency: _encode(out, root, agency, schema, secret),
        )
        asked["left corrections"] = exited

        out.rule("[bold]10. Families: what other programs serve the client's family?")
        family_story(out, base, root=root, identities=identities, family=family, ops=ops, now=now)

        out.rule("[bold]11. Tonight's integrated sync report for child welfare's CMIS")
        report_story(
            out, base, root=root, identity=identities["DCFS"], consented=asked["consented"]
        )

        out.rule("[bold]12. Quality summary and overlap (operators)")
        _quality(out, ops, run)

    out.rule("[bold]13. The ledger, verified from the database")
    engine = create_db_engine(url)
    witnessed = (NodeWitness.open(root / "nodes" / "DCFS", None, None) or _never()).status()
    try:
        with Session(engine) as session:
            HubLedger(log).issue_checkpoint(session)
            session.commit()
            verified = verify_ledger(
                stored_rows(session),
                stored_checkpoints(session),
                log.verifier,
                witnessed=[witnessed["witnessed_checkpoint"]],
            )
    finally:
        engine.dispose()
    out.print(
        f"{verified.size} entries, {verified.checkpoints} signed checkpoints: every leaf hash, "
        "signature and rule re-checked (registrations, the consent form, each disclosure's "
        "ACCESS entry); the ledger contains the checkpoint DCFS's node witnessed and "
        f"cosigned (size {witnessed['cosigned_size']})"
    )
    return {"url": url, "asked": asked, "settings": settings}


def _write_staff(path: Path, agency: str, rows: list[dict[str, str]]) -> None:
    """Contacts, and the org structure: case managers report to two supervisors (by the
    parity of their number), who report to one manager."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["case_manager_id", "display_name", "phone", "email", "office", "unit", "supervisor_id"]
        )
        case_managers = sorted({r["case_manager_id"] for r in rows if r["case_manager_id"]})
        for cm in case_managers:
            number = cm.split("-")[1]
            writer.writerow(
                [
                    cm,
                    f"Case manager {number} ({agency})",
                    f"(555) 555-{number}",
                    f"{cm}@{agency.lower()}.example.gov",
                    f"{agency} field office",
                    "Intake and assessment",
                    supervisor_of(cm),
                ]
            )
        for boss in sorted({supervisor_of(cm) for cm in case_managers}):
            writer.writerow(
                [boss, f"Supervisor ({agency})", "", "", f"{agency} field office", "", MANAGER]
            )
        writer.writerow([MANAGER, f"Program manager ({agency})", "", "", "", "", ""])


def _encode(out: Console, root: Path, agency: str, schema: Any, secret: LinkageSecret) -> Any:
    with Progress(
        TextColumn(f"  {agency} {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=out,
        transient=True,
    ) as bar:
        task = bar.add_task("encoding", total=ROSTER_SIZE)
        (root / "nodes").mkdir(exist_ok=True)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        return run_encoding_job(
            agency_id=agency,
            schema=schema,
            secret=secret,
            roster_path=root / "rosters" / f"{agency}.csv",
            output=root / "nodes" / f"{agency}.jsonl",
            state_dir=root / "nodes" / agency,
            progress=progress,
        )


def _link(ops: HubClient) -> LinkageRunOut:
    run = ops.wait_for_run(ops.start_linkage(LinkageRunIn(kind="full")).run_id, timeout=300)
    if run.status == "failed":
        raise RuntimeError(f"the demo's linkage run failed: {run.error}")
    return run


def _truth_pairs(truth: dict[str, dict[str, int]]) -> int:
    people: dict[int, int] = {}
    for records in truth.values():
        for person in records.values():
            people[person] = people.get(person, 0) + 1
    return sum(n * (n - 1) // 2 for n in people.values())


def _quality(out: Console, ops: HubClient, run: LinkageRunOut) -> None:
    proposal = run.proposal or {}
    out.print(
        f"threshold {run.threshold or 0:.3f} ({run.threshold_source}); estimated precision "
        f"{proposal.get('estimated_precision', 0):.4f}, recall "
        f"{proposal.get('estimated_recall', 0):.4f}"
    )
    overlap = ops.overlap()
    table = Table(
        "programs",
        "clients shared by both",
        "% of the first",
        "% of the second",
        title=f"overlap (cells under {overlap.limit} suppressed)",
    )
    for cell in overlap.cells:
        if cell.kind != "pair":
            continue
        a, b = cell.programs
        table.add_row(
            f"{a} & {b}",
            _shown(cell.count),
            _shown(cell.percent_of[a]),
            _shown(cell.percent_of[b]),
        )
    out.print(table)


def _never() -> NodeWitness:
    raise RuntimeError("DCFS's node witnessed nothing")  # the story's step 8 pinned the key


def _shown(value: object) -> str:
    return "suppressed" if value is None else f"{value}"
