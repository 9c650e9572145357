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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import select
from sqlmodel import Session, col

from consent import LogKey, verify_ledger
from contract import LinkageRunIn, LinkageRunOut, SharedOut
from contract.client import HubClient
from contract.tokens import CachedToken
from hub.app import create_app
from hub.db import create_db_engine
from hub.migrate import upgrade
from hub.models import RecordCluster
from hub.services.ledger import HubLedger, stored_checkpoints, stored_rows
from hub.settings import HubSettings
from keys import AgencyIdentity, LinkageSecret, LocalIssuer, Role
from linkage_node import load_schema, run_encoding_job
from linkage_node.answer_check import AnswerCheck
from linkage_node.consent_desk import ConsentDesk, Recorded
from linkage_node.consent_forms import store_upload
from linkage_node.consent_terms import ConsentForm
from linkage_node.hub_client import agency_token, node_client
from linkage_node.job import REF_KEY_FILE, STATE_FILE
from linkage_node.refs import RefKey
from linkage_node.state import NodeState
from linkage_node.sync import load_staff, sync
from linkage_node.synthetic import linked_rosters, write_roster
from linkage_node.witness import NodeWitness

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
    (root / "rosters").mkdir()
    for agency, rows in rosters.rows.items():
        write_roster(root / "rosters" / f"{agency}.csv", rows)
        _write_staff(root / "rosters" / f"{agency}-staff.csv", agency, rows)
    out.print(
        f"{len(identities)} rosters of {ROSTER_SIZE:,} records in {root / 'rosters'}; about "
        f"{SHARED:.0%} of each agency's clients are also served elsewhere, recorded with "
        "typos, nicknames, name changes, swapped dates, missing SSNs and moves"
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
        asked = _consent_and_ask(
            out, base, url=url, root=root, identities=identities, programs=programs, now=now
        )

        out.rule("[bold]9. Quality summary and overlap (operators)")
        _quality(out, ops, run)

    out.rule("[bold]10. The ledger, verified from the database")
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
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_manager_id", "display_name", "phone", "email", "office"])
        for cm in sorted({r["case_manager_id"] for r in rows if r["case_manager_id"]}):
            number = cm.split("-")[1]
            writer.writerow(
                [
                    cm,
                    f"Case manager {number} ({agency})",
                    f"(555) 555-{number}",
                    f"{cm}@{agency.lower()}.example.gov",
                    f"{agency} field office",
                ]
            )


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


def _consent_and_ask(  # noqa: PLR0917
    out: Console,
    base: str,
    url: str,
    root: Path,
    identities: dict[str, AgencyIdentity],
    programs: dict[str, str],
    now: datetime,
) -> dict[str, str]:
    dcfs = NodeState(root / "nodes" / "DCFS" / STATE_FILE, "DCFS")
    doc = NodeState(root / "nodes" / "DOC" / STATE_FILE, "DOC")
    # DCFS's node witnesses the ledger and checks every grant an answer relies on.
    witness = NodeWitness.open(
        root / "nodes" / "DCFS", identities["DCFS"], root / "hub-log.key.vkey"
    )
    assert witness is not None  # noqa: S101  (a key was given)
    dcfs_node, doc_node = (
        node_client(base, identities["DCFS"]),
        node_client(base, identities["DOC"]),
    )
    dcfs_programs = identities["DCFS"].programs
    try:
        # The clients DCFS and corrections share, as the hub's clusters say.
        shared = _shared_with(url, "DCFS", "DOC")
        consented, other, withdrawing = shared[0], shared[1], shared[2]
        _, doc_ref = consented
        now = datetime.now(UTC).replace(microsecond=0)
        # Corrections' steward records two signed forms, as `pprl node consent grant`
        # does: signed with DOC's key, checked by DOC's own witness of the ledger.
        desk = _consent_desk(root, doc_node, identities["DOC"], doc)
        grant = _record_form(root, desk, doc, doc_ref, now)
        out.print(
            f"corrections recorded a signed consent form, grant {grant.grant_id} (ledger "
            f"entry {grant.ledger_index}): its client {doc.record_id_of(doc_ref)} agrees to "
            "child welfare seeing contact and plan details"
        )
        withdrawn = _record_form(root, desk, doc, withdrawing[1], now)
        out.print(
            f"and grant {withdrawn.grant_id} for client {doc.record_id_of(withdrawing[1])}, "
            "who will change their mind"
        )
        for g in desk.on_file(refresh=False):
            out.print(
                f"  on file at corrections: {g.grant_id} {g.record_id} {g.status} "
                f"to {', '.join(g.recipients)} until {g.expires_at[:10]}"
            )
        milestones = [
            {
                "ref": doc_ref,
                "milestone_id": "m1",
                "goal": "Complete supervision",
                "milestone": "Monthly report to officer",
                "service_kind": "probation",
                "status": "in_progress",
                "target_end": (now + timedelta(days=12)).date().isoformat(),
            },
            {
                "ref": doc_ref,
                "milestone_id": "m2",
                "goal": "Work",
                "milestone": "Job readiness class",
                "service_kind": "job_training",
                "status": "stuck",
                "stuck_reason": "no transport",
            },
        ]
        doc_node.post_batch(
            "/v1/agencies/DOC/milestones/batches", {"upserts": milestones}, "demo-plans-0001"
        )
        answers = {}
        for label, (ref, _) in (("consented", consented), ("not consented", other)):
            record = _assigned(dcfs, ref)
            answer = dcfs_node.shared(ref, token=_case_manager(identities["DCFS"], record[1]))
            answers[label] = record[0]
            check = witness.check_answer(dcfs_node, answer.model_dump(mode="json"), dcfs_programs)
            _print_answer(out, label, record, answer, check)
        # The second client withdraws consent: the next answer withholds what the grant
        # covered, while the first client's consent still stands.
        desk.revoke(withdrawn.grant_id, recorded_by="demo")
        out.print(
            f"the second client revoked their consent (`pprl node consent revoke --grant "
            f"{withdrawn.grant_id}`, a signed REVOKE):"
        )
        for label, (ref, _) in (
            ("after the revocation", withdrawing),
            ("still consented", consented),
        ):
            record = _assigned(dcfs, ref)
            after = dcfs_node.shared(ref, token=_case_manager(identities["DCFS"], record[1]))
            check = witness.check_answer(dcfs_node, after.model_dump(mode="json"), dcfs_programs)
            _print_answer(out, label, record, after, check)
    finally:
        dcfs.close()
        doc.close()
        dcfs_node.close()
        doc_node.close()
    return answers


def _shared_with(url: str, a: str, b: str) -> list[tuple[str, str]]:
    """(ref at a, ref at b) of clusters holding both agencies, as stored by the run."""
    engine = create_db_engine(url)
    try:
        with engine.connect() as db:
            rows = db.execute(
                select(
                    col(RecordCluster.cluster_id),
                    col(RecordCluster.agency_id),
                    col(RecordCluster.ref),
                )
                .where(col(RecordCluster.agency_id).in_([a, b]))
                .order_by(col(RecordCluster.cluster_id))
            ).all()
    finally:
        engine.dispose()
    members: dict[int, dict[str, str]] = {}
    for cluster, agency, ref in rows:
        members.setdefault(cluster, {})[agency] = ref
    return [(m[a], m[b]) for m in members.values() if a in m and b in m]


def _case_manager(identity: AgencyIdentity, staff: str) -> CachedToken:
    return agency_token(identity, subject=staff, roles=(Role.CASE_MANAGER,))


def _consent_desk(
    root: Path, node: HubClient, identity: AgencyIdentity, state: NodeState
) -> ConsentDesk:
    directory = root / "nodes" / identity.agency_id
    witness = NodeWitness.open(directory, identity, root / "hub-log.key.vkey")
    assert witness is not None  # noqa: S101  (a key was given)
    ref_key = RefKey.load_or_create(directory / REF_KEY_FILE, create=False)
    return ConsentDesk(identity, state, ref_key, witness, node)


def _record_form(
    root: Path, desk: ConsentDesk, state: NodeState, ref: str, now: datetime
) -> Recorded:
    record_id = state.record_id_of(ref) or ""
    found = state.client(record_id)
    assert found is not None  # noqa: S101  (a current client)
    scan = f"%PDF-1.4 demo consent form for case {record_id}".encode()
    sha, stored = store_upload(root / "nodes" / "DOC", scan, ".pdf")
    form = ConsentForm(
        record_id=record_id,
        recipients=("child_welfare",),
        data_classes=("existence", "contact", "plan"),
        signed_on=now.date(),
        form_sha256=sha,
        collected_by=found.case_manager_id,
        form_version="universal-2026.1",
    )
    return desk.record(form, recorded_by=found.case_manager_id, form_file=stored)


def _assigned(state: NodeState, ref: str) -> tuple[str, str, str]:
    record = state.clients_by_ref([ref])[ref]
    found = state.client(record[0])
    assert found is not None  # noqa: S101  (the directory holds every current record)
    return record.record_id, found.case_manager_id, record.name


def _print_answer(
    out: Console,
    label: str,
    record: tuple[str, str, str],
    answer: SharedOut,
    check: AnswerCheck,
) -> None:
    out.print(f"[bold]{record[1]}[/] asks about {record[2]} ({record[0]}, {label}):")
    if not answer.shared:
        out.print("  no other program may be named")
    for program in answer.programs:
        contact = program.contact_details
        shown = (
            f"contact {contact.display_name}, {contact.phone}"
            if contact
            else (f"contact withheld ({program.contact.reason})")
        )
        plan = (
            f"{len(program.milestones)} plan milestones"
            if program.milestones is not None
            else f"plan withheld ({program.plan.reason})"
        )
        out.print(f"  {program.program}: {shown}; {plan}")
    for conflict in answer.conflicts:
        out.print(f"  [yellow]conflict[/]: {conflict.detail}")
    if check.verified:
        out.print(
            "  consent verified by DCFS's node: each grant the answer relies on is a live "
            "grant for this record and data class in the ledger history the node witnessed"
        )
    elif check.verified is False:
        out.print(f"  [red]consent NOT verified[/]: {'; '.join(check.problems)}")


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
