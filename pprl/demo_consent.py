"""The demo's step 8: corrections records two signed consent forms and a plan, a child
welfare case manager asks about a consented and a non-consented shared client (DCFS's
node checking every grant an answer relies on), and one client revokes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy import select
from sqlmodel import col

from contract import SharedOut
from contract.client import HubClient
from contract.tokens import CachedToken
from hub.db import create_db_engine
from hub.models import Encoding, Link, RecordCluster
from hub.settings import HubSettings
from keys import AgencyIdentity, Role
from linkage_node.answer_check import AnswerCheck
from linkage_node.consent_desk import ConsentDesk, Recorded, is_minor
from linkage_node.consent_forms import store_upload
from linkage_node.consent_terms import ConsentForm
from linkage_node.hub_client import agency_token, node_client
from linkage_node.job import REF_KEY_FILE, STATE_FILE
from linkage_node.refs import RefKey
from linkage_node.state import NodeState
from linkage_node.witness import NodeWitness

MANAGER = "mgr-0001"


def supervisor_of(case_manager: str) -> str:
    """The demo's org structure: odd-numbered case managers report to sup-0001, even to
    sup-0002; both supervisors report to the manager."""
    return "sup-0001" if int(case_manager.split("-")[1]) % 2 else "sup-0002"


def consent_and_ask(  # noqa: PLR0917
    out: Console,
    base: str,
    url: str,
    root: Path,
    identities: dict[str, AgencyIdentity],
    programs: dict[str, str],
    now: datetime,
) -> dict[str, str]:
    """Tell step 8; returns the case numbers the case manager asked about, by label."""
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
                "mandate": "condition_of_supervision",
                "buy_in": "yes",
            },
            {
                "ref": doc_ref,
                "milestone_id": "m2",
                "goal": "Work",
                "milestone": "Job readiness class",
                "service_kind": "job_training",
                "status": "stuck",
                "stuck_reason": "transportation",  # a shared code: no free text
                "stuck_since": (now - timedelta(days=45)).date().isoformat(),
                "planned_dosage": 24,
                "actual_dosage": 6,
                "dosage_unit": "sessions",
                "resources": "bus pass on request",
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
            check = witness.check_answer(dcfs_node, answer, dcfs_programs)
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
            check = witness.check_answer(dcfs_node, after, dcfs_programs)
            _print_answer(out, label, record, after, check)
        _print_team(out, dcfs_node, identities["DCFS"], _assigned(dcfs, consented[0]))
    finally:
        dcfs.close()
        doc.close()
        dcfs_node.close()
        doc_node.close()
    return answers


def _shared_with(url: str, a: str, b: str) -> list[tuple[str, str]]:
    """(ref at a, ref at b) of clusters holding clients of both agencies, linked to each
    other directly, as stored by the run."""
    engine = create_db_engine(url)
    try:
        with engine.connect() as db:
            rows = db.execute(
                select(
                    col(RecordCluster.cluster_id),
                    col(RecordCluster.agency_id),
                    col(RecordCluster.ref),
                )
                .join(
                    Encoding,
                    (col(Encoding.agency_id) == col(RecordCluster.agency_id))
                    & (col(Encoding.ref) == col(RecordCluster.ref)),
                )
                # A family member an agency lists without serving them is not its client.
                .where(col(RecordCluster.agency_id).in_([a, b]), ~col(Encoding.member_only))
                .order_by(col(RecordCluster.cluster_id))
            ).all()
            # Linked to each other directly, outside the review band: the housekeeping
            # notifications (an exit, a consent) follow direct links only.
            direct = {
                (agency_a, ref_a, agency_b, ref_b)
                for agency_a, ref_a, agency_b, ref_b in db.execute(
                    select(
                        col(Link.agency_a), col(Link.ref_a), col(Link.agency_b), col(Link.ref_b)
                    ).where(~col(Link.review))
                )
            }
    finally:
        engine.dispose()
    members: dict[int, dict[str, str]] = {}
    for cluster, agency, ref in rows:
        members.setdefault(cluster, {})[agency] = ref
    return [
        (m[a], m[b])
        for m in members.values()
        if a in m and b in m and ({(a, m[a], b, m[b]), (b, m[b], a, m[a])} & direct)
    ]


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
        # A minor's form is signed by a parent or guardian (the node refuses it otherwise).
        signer="guardian" if is_minor(found.date_of_birth, now.date()) else "client",
    )
    return desk.record(form, recorded_by=found.case_manager_id, form_file=stored)


def _assigned(state: NodeState, ref: str) -> tuple[str, str, str]:
    record = state.clients_by_ref([ref])[ref]
    found = state.client(record[0])
    assert found is not None  # noqa: S101  (the directory holds every current record)
    return record.record_id, found.case_manager_id, record.name


def _print_team(
    out: Console, node: HubClient, identity: AgencyIdentity, record: tuple[str, str, str]
) -> None:
    """The consented client's case manager's supervisor opens their team."""
    boss = supervisor_of(record[1])
    token = agency_token(identity, subject=boss, roles=(Role.SUPERVISOR,))
    team = node.team(token=token)
    out.print(
        f"[bold]{boss}[/] (supervisor of {record[1]}) opens the team: "
        f"{len(team.clients)} clients of {len(team.members)} staff, what needs attention first"
    )
    for client in team.clients[:1]:
        out.print(
            f"  first: {client.record_ref[:12]}... of {client.case_manager_id}: "
            f"{client.conflicts} conflicts, {client.stuck} stuck, {client.overdue} overdue"
        )
    mine = next(c for c in team.clients if c.case_manager_id == record[1])
    out.print(
        f"  {record[2]} ({record[0]}) of {record[1]}: {mine.conflicts} conflicts, "
        f"{mine.stuck} stuck (the ledger records the supervisor's view, purpose supervision)"
    )


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
        required = " (a required milestone)" if conflict.non_negotiable else ""
        out.print(f"  [yellow]conflict{required}[/]: {conflict.detail}")
    if check.verified:
        out.print(
            "  consent verified by DCFS's node: each grant the answer relies on is a live "
            "grant for this record and data class in the ledger history the node witnessed"
        )
    elif check.verified is False:
        out.print(f"  [red]consent NOT verified[/]: {'; '.join(check.problems)}")


def plan_alerts_story(out: Console, settings: HubSettings) -> None:
    """The daily plan-alerts sweep, as `pprl hub plan-alerts` runs it."""
    from hub.plan_alerts_cli import run_plan_alerts

    result = run_plan_alerts(settings)
    out.print(
        f"daily plan alerts (`pprl hub plan-alerts`): {result.new_conflicts} new conflicts, "
        f"{result.newly_stuck} milestones stuck too long; {result.queued} notifications "
        "queued, naming no client"
    )
