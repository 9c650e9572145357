"""`pprl node consent ...`: record, list, revoke and import signed consent forms.

Every command signs with the agency's key, appends through the hub's ledger API and
reads back through the node's own witness (the hub's log key must be pinned: give
`--log-public-key` once). The scan of a form stays in the state directory; only its
SHA-256 is on the ledger. Exit statuses: 0 ok, 1 the hub refused or is unreachable,
2 usage, 3 an invalid form or export (nothing recorded), 4 the ledger went back or forked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from linkage_node.errors import NodeError, StateError
from linkage_node.witness_cli import LogPublicKey

if TYPE_CHECKING:
    from linkage_node.consent_desk import ConsentDesk, GrantOnFile
    from linkage_node.roster import Issue

app = typer.Typer(
    help="Record, list, revoke and import clients' signed consent forms.", no_args_is_help=True
)
err = Console(stderr=True, soft_wrap=True)

Agency = Annotated[str, typer.Option(help="Your agency id.")]
Hub = Annotated[str, typer.Option("--hub", envvar="PPRL_HUB_URL", help="The hub's base URL.")]
KeyDir = Annotated[
    Path, typer.Option("--key-dir", envvar="PPRL_KEY_DIR", help="Your agency's key directory.")
]
StateDir = Annotated[
    Path | None, typer.Option(help="The node's state directory (default: pprl-node/AGENCY).")
]
Passphrase = Annotated[Path | None, typer.Option("--passphrase-file")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
Day = Annotated[str, typer.Option(metavar="YYYY-MM-DD")]


@contextmanager
def _desk(
    agency: str,
    hub: str,
    key_dir: Path,
    state_dir: Path | None,
    passphrase_file: Path | None,
    log_public_key: Path | None,
) -> Iterator[tuple[ConsentDesk, Path]]:
    from keys.cli import load_identity
    from linkage_node.consent_desk import ConsentDesk
    from linkage_node.hub_client import node_client
    from linkage_node.job import REF_KEY_FILE, STATE_FILE
    from linkage_node.refs import RefKey
    from linkage_node.state import NodeState
    from linkage_node.witness import NodeWitness

    identity = load_identity(key_dir, passphrase_file, False)
    if identity.agency_id != agency:
        raise typer.BadParameter(f"the keys in {key_dir} are agency {identity.agency_id}'s")
    directory = state_dir or Path("pprl-node") / agency
    if not (directory / STATE_FILE).exists():
        raise StateError(
            f"no node state in {directory}",
            "Run `pprl node encode` and `pprl node sync` first, or give --state-dir.",
            exit_code=2,
        )
    witness = NodeWitness.open(directory, identity, log_public_key)
    if witness is None:
        raise StateError(
            f"this node does not witness the hub's consent ledger yet ({directory})",
            "Give --log-public-key with the .vkey file the hub operator published; it is "
            "pinned and consent is then checked against it.",
            exit_code=2,
        )
    ref_key = RefKey.load_or_create(directory / REF_KEY_FILE, create=False)
    state = NodeState(directory / STATE_FILE, agency)
    client = node_client(hub, identity)
    try:
        yield ConsentDesk(identity, state, ref_key, witness, client), directory
    finally:
        client.close()
        state.close()


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{option} must be a date YYYY-MM-DD") from None


def _split(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


@app.command("grant")
def grant(
    agency: Agency,
    hub: Hub,
    key_dir: KeyDir,
    record_id: Annotated[str, typer.Option("--record-id", help="The client's case number.")],
    to: Annotated[
        list[str],
        typer.Option(
            "--to",
            metavar="PROGRAM[,PROGRAM]",
            help="Who may see it: program ids, or any_linked_program (repeatable).",
        ),
    ],
    signed_on: Annotated[str, typer.Option(metavar="YYYY-MM-DD", help="The day it was signed.")],
    classes: Annotated[
        list[str],
        typer.Option(
            "--classes",
            metavar="existence,contact,plan",
            help="What they may see: existence, contact, plan.",
        ),
    ] = ["existence", "contact", "plan"],  # noqa: B006  (typer reads the default)
    expires: Annotated[
        str | None,
        typer.Option(
            metavar="YYYY-MM-DD",
            help="The day it stops counting (default: a year after signing; at most five).",
        ),
    ] = None,
    signer: Annotated[
        Literal["client", "guardian", "representative", "court"],
        typer.Option(help="Who signed the form."),
    ] = "client",
    form: Annotated[
        Path | None,
        typer.Option("--form", help="The signed form's scan (PDF or image), kept at the node."),
    ] = None,
    form_sha256: Annotated[
        str | None,
        typer.Option(help="The scan's SHA-256 instead, when it stays in your document system."),
    ] = None,
    form_version: Annotated[
        str | None, typer.Option(help="The form's edition, e.g. universal-2026.1.")
    ] = None,
    purpose: Annotated[
        list[str],
        typer.Option(
            help="care_coordination, case_planning, service_referral, program_evaluation."
        ),
    ] = ["care_coordination"],  # noqa: B006
    basis: Annotated[
        list[str],
        typer.Option(help="The law it rests on, e.g. state_statute, hipaa_authorization."),
    ] = ["state_statute"],  # noqa: B006
    collected_by: Annotated[
        str | None,
        typer.Option(help="Staff id of who took the form (default: the client's case manager)."),
    ] = None,
    program: Annotated[
        str | None, typer.Option(help="Your program it shares from (needed if you run several).")
    ] = None,
    replaces: Annotated[
        str | None, typer.Option(help="A grant id this new form replaces (it is superseded).")
    ] = None,
    state_dir: StateDir = None,
    passphrase_file: Passphrase = None,
    log_public_key: LogPublicKey = None,
    json_out: JsonOut = False,
) -> None:
    """Record a client's signed consent form on the ledger; prints its grant id (and,
    on stderr, its ledger entry). Recording the same form again appends nothing and
    prints the same id."""
    from linkage_node.consent_forms import read_form, store_upload
    from linkage_node.consent_terms import ConsentForm

    signed = _day(signed_on, "--signed-on")
    if (form is None) == (form_sha256 is None):
        raise typer.BadParameter("give the scan with --form, or its --form-sha256")
    with _desk(agency, hub, key_dir, state_dir, passphrase_file, log_public_key) as (
        desk,
        directory,
    ):
        stored, sha = None, (form_sha256 or "").lower()
        if form is not None:
            content, suffix = read_form(form)
            sha, stored = store_upload(directory, content, suffix)
        collector = collected_by or _case_manager(desk, record_id)
        assert signed is not None  # noqa: S101  (a required option)
        consent_form = ConsentForm(
            record_id=record_id,
            recipients=_split(to),
            data_classes=_split(classes),
            signed_on=signed,
            form_sha256=sha,
            collected_by=collector,
            expires_on=_day(expires, "--expires"),
            signer=signer,
            form_version=form_version,
            purposes=_split(purpose),
            basis=_split(basis),
            program=program,
        )
        done = desk.record(consent_form, recorded_by=collector, form_file=stored, replaces=replaces)
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "grant_id": done.grant_id,
                    "ledger_index": done.ledger_index,
                    "consent_id": done.consent_id,
                    "already_recorded": done.already,
                    "replaces": done.replaces,
                }
            )
        )
        return
    said = "was already on the ledger" if done.already else "recorded"
    typer.echo(done.grant_id)  # stdout: the id alone, for scripts and the steward's notes
    err.print(
        f"consent {said}: {done.grant_id}, ledger entry {done.ledger_index}"
        + (f"; it replaces {done.replaces}" if done.replaces else "")
    )


def _case_manager(desk: ConsentDesk, record_id: str) -> str:
    found = desk.state.client(record_id)
    if found is None:
        raise NodeError(
            "that case number is not on this node's current roster",
            "Check the case number; if the client is new, export and encode the roster "
            "first, or give --collected-by with your staff id.",
            exit_code=3,
        )
    return found.case_manager_id


@app.command("list")
def list_grants(
    agency: Agency,
    hub: Hub,
    key_dir: KeyDir,
    record_id: Annotated[
        str | None, typer.Option("--record-id", help="Only this client's consents.")
    ] = None,
    state_dir: StateDir = None,
    passphrase_file: Passphrase = None,
    log_public_key: LogPublicKey = None,
    json_out: JsonOut = False,
) -> None:
    """Every consent on file for your clients (or one client), with its status, as the
    ledger this node witnessed holds it (checked against the pinned log key)."""
    with _desk(agency, hub, key_dir, state_dir, passphrase_file, log_public_key) as (desk, _):
        grants = desk.on_file(record_id)
        size = desk.witness.status()["witnessed_size"]
    if json_out:
        typer.echo(json.dumps([g.as_json() for g in grants], indent=2))
        return
    _print_grants(grants, size)


def _print_grants(grants: list[GrantOnFile], size: int) -> None:
    out = Console()
    title = f"consent on file ({len(grants)}), checked against the ledger witnessed at size {size}"
    rows = [
        (
            g.grant_id,
            g.record_id or "(not on the roster)",
            g.status + (f" (entry {g.ended_at_index})" if g.ended_at_index else ""),
            ", ".join(g.recipients),
            ", ".join(g.data_classes),
            g.signed_at[:10],
            g.expires_at[:10],
            str(g.ledger_index),
            "kept" if g.form_on_file else "-",
        )
        for g in grants
    ]
    if out.width < 110:
        # A narrow terminal: one block per grant, so nothing a steward copies is cut.
        out.print(title)
        for grant, record, status, to, what, signed, until, entry, scan in rows:
            out.print(f"{grant}  {record}  {status}", highlight=False)
            out.print(
                f"  to {to}: {what}; signed {signed}, until {until}; ledger entry "
                f"{entry}; scan {scan}",
                highlight=False,
            )
        return
    table = Table(
        "grant",
        "case number",
        "status",
        "to",
        "what",
        "signed",
        "until",
        "entry",
        "scan",
        title=title,
    )
    for row in rows:
        table.add_row(*row)
    out.print(table)


@app.command("revoke")
def revoke(
    agency: Agency,
    hub: Hub,
    key_dir: KeyDir,
    grant_id: Annotated[
        str, typer.Option("--grant", help="The grant id from `pprl node consent list`.")
    ],
    effective: Annotated[
        str | None,
        typer.Option(
            metavar="YYYY-MM-DD",
            help="A later day it stops counting (default: now). A future date shortens the "
            "consent instead (a new grant replaces it, ending then).",
        ),
    ] = None,
    reason: Annotated[
        Literal[
            "client_request", "guardian_request", "entered_in_error", "court_order", "program_exit"
        ],
        typer.Option(help="Why it ends."),
    ] = "client_request",
    state_dir: StateDir = None,
    passphrase_file: Passphrase = None,
    log_public_key: LogPublicKey = None,
    json_out: JsonOut = False,
) -> None:
    """Revoke a consent: nothing it covered is shown from now on (or from --effective)."""
    with _desk(agency, hub, key_dir, state_dir, passphrase_file, log_public_key) as (desk, _):
        done = desk.revoke(
            grant_id, effective=_day(effective, "--effective"), reason=reason, recorded_by="cli"
        )
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "grant_id": done.grant_id,
                    "ledger_index": done.ledger_index,
                    "replaces": done.replaces,
                }
            )
        )
        return
    if done.replaces:
        err.print(
            f"{done.replaces} now ends on {effective}: replaced by {done.grant_id} "
            f"(ledger entry {done.ledger_index})"
        )
    else:
        err.print(f"{done.grant_id} revoked (ledger entry {done.ledger_index})")


@app.command("import")
def import_forms(
    agency: Agency,
    hub: Hub,
    key_dir: KeyDir,
    input_path: Annotated[
        Path, typer.Option("--input", help="The consent export (CSV or spreadsheet).")
    ],
    max_rejected: Annotated[
        str, typer.Option(metavar="N|P%", help="Bad rows allowed; beyond it nothing is recorded.")
    ] = "0",
    encoding: Annotated[str, typer.Option(help="The export's text encoding.")] = "utf-8",
    state_dir: StateDir = None,
    passphrase_file: Passphrase = None,
    log_public_key: LogPublicKey = None,
    json_out: JsonOut = False,
) -> None:
    """Record every signed form in a case-management export. Running the same export
    again records nothing twice. Exits 3 with the problem table (line, column, rule;
    never values) when more rows are bad than --max-rejected allows, recording nothing."""
    from linkage_node.consent_forms import read_form, store_upload
    from linkage_node.consent_import import read_consent_export
    from linkage_node.consent_terms import ConsentFormInvalid
    from linkage_node.guards import Allowance, check_rejected
    from linkage_node.roster import Issue

    allowance = Allowance.parse(max_rejected, "--max-rejected")
    with _desk(agency, hub, key_dir, state_dir, passphrase_file, log_public_key) as (
        desk,
        directory,
    ):
        collectors = {row[1]: row[4] for row in desk.state.directory()}
        result = read_consent_export(input_path, default_collector=collectors, encoding=encoding)
        if result.rows == 0:
            raise NodeError(
                f"{input_path} holds no consent forms (a header only)",
                "Export the signed forms with one row each.",
                exit_code=3,
            )
        desk.witness.run(desk.ledger)
        ready = []
        for row in result.valid:
            try:
                desk.prepare(row.form)
            except ConsentFormInvalid as exc:
                result.issues.append(Issue(row.line, exc.field, exc.what, "reject"))
                continue
            ready.append(row)
        _print_issues(result.issues)
        check_rejected("consent", result.rejected, result.rows, allowance)
        recorded = already = 0
        refused: list[Issue] = []
        for row in ready:
            stored = None
            if row.form_source is not None:
                stored = store_upload(directory, *read_form(row.form_source))[1]
            try:
                done = desk.record(row.form, recorded_by="import", form_file=stored, refresh=False)
            except ConsentFormInvalid as exc:  # the ledger's own checks (recipients)
                refused.append(Issue(row.line, exc.field, exc.what, "reject"))
                continue
            already += done.already
            recorded += not done.already
        desk.witness.run(desk.ledger)
    if refused:
        _print_issues(refused)
        result.issues.extend(refused)
        check_rejected("consent", result.rejected, result.rows, allowance)
    summary = {
        "rows": result.rows,
        "recorded": recorded,
        "already_recorded": already,
        "rejected": result.rejected,
    }
    if json_out:
        typer.echo(json.dumps(summary))
        return
    err.print(
        f"{result.rows} forms read: {recorded} recorded, {already} already on the ledger, "
        f"{result.rejected} rejected"
    )


def _print_issues(issues: list[Issue]) -> None:
    if not issues:
        return
    table = Table("line", "column", "problem", title=f"{len(issues)} problems (values not shown)")
    for issue in sorted(issues, key=lambda i: (i.line, i.column))[:50]:
        table.add_row(str(issue.line), issue.column, issue.rule)
    err.print(table)


@app.command("export-fhir")
def export_fhir(
    agency: Agency,
    hub: Hub,
    key_dir: KeyDir,
    output: Annotated[
        Path | None,
        typer.Option(help="Write the Bundle here (owner-readable only; default: stdout)."),
    ] = None,
    record_id: Annotated[
        str | None, typer.Option("--record-id", help="Only this client's consents.")
    ] = None,
    state_dir: StateDir = None,
    passphrase_file: Passphrase = None,
    log_public_key: LogPublicKey = None,
) -> None:
    """The consents on file as an HL7 FHIR R4 Bundle of Consent resources, for your own
    FHIR systems. It names clients by your case numbers: keep it inside the agency."""
    from keys.files import write_private
    from linkage_node.consent_fhir import fhir_bundle

    with _desk(agency, hub, key_dir, state_dir, passphrase_file, log_public_key) as (desk, _):
        bundle = fhir_bundle(agency, desk.on_file(record_id))
    text = json.dumps(bundle, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    write_private(output, text.encode("utf-8"), overwrite=True)
    err.print(f"{len(bundle['entry'])} consents written to {output} (FHIR R4 Bundle)")
