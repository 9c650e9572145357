"""`pprl node consent ...`: record, list, revoke and import signed consent forms.

Every command signs with the agency's key, appends through the hub's ledger API and
reads back through the node's own witness (the hub's log key must be pinned: give
`--log-public-key` once). The scan of a form stays in the state directory; only its
SHA-256 is on the ledger. Exit statuses: 0 ok, 1 the hub refused or is unreachable,
2 usage, 3 an invalid form or export (nothing recorded), 4 the ledger went back or forked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from linkage_node import consent_bulk_cli
from linkage_node.consent_options import (
    Agency,
    Hub,
    JsonOut,
    KeyDir,
    Passphrase,
    StateDir,
    open_desk,
    parse_day,
    split_values,
)
from linkage_node.errors import NodeError
from linkage_node.witness_cli import LogPublicKey

if TYPE_CHECKING:
    from linkage_node.consent_desk import ConsentDesk, GrantOnFile, Recorded

app = typer.Typer(
    help="Record, list, revoke and import clients' signed consent forms.", no_args_is_help=True
)
err = Console(stderr=True, soft_wrap=True)


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
    seen_by: Annotated[
        Literal["chain", "case_manager"] | None,
        typer.Option(
            help="Who at each program may see it: `chain`, the client's case manager and "
            "the supervisors above them (the default), or `case_manager` alone."
        ),
    ] = None,
    for_minors: Annotated[
        list[str],
        typer.Option(
            "--for-minors",
            metavar="CASE[,CASE]",
            help="Minors the signer also signs for as their parent or guardian: a grant "
            "is recorded for each (repeatable).",
        ),
    ] = [],  # noqa: B006
    state_dir: StateDir = None,
    passphrase_file: Passphrase = None,
    log_public_key: LogPublicKey = None,
    json_out: JsonOut = False,
) -> None:
    """Record a client's signed consent form on the ledger; prints its grant id (and,
    on stderr, its ledger entry). Recording the same form again appends nothing and
    prints the same id. A minor's form is signed by a parent or guardian: `--signer
    guardian` on the minor's own record, or `--for-minors` on the parent's (one grant per
    minor; none for a parent the agency lists as family only)."""
    from linkage_node.consent_forms import read_form, store_upload
    from linkage_node.consent_terms import ConsentForm

    signed = parse_day(signed_on, "--signed-on")
    if (form is None) == (form_sha256 is None):
        raise typer.BadParameter("give the scan with --form, or its --form-sha256")
    with open_desk(agency, hub, key_dir, state_dir, passphrase_file, log_public_key) as (
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
            recipients=split_values(to),
            data_classes=split_values(classes),
            signed_on=signed,
            form_sha256=sha,
            collected_by=collector,
            expires_on=parse_day(expires, "--expires"),
            signer=signer,
            form_version=form_version,
            purposes=split_values(purpose),
            basis=split_values(basis),
            program=program,
            seen_by=seen_by,
        )
        minors = split_values(for_minors)
        if minors:
            if replaces:
                raise typer.BadParameter("--replaces takes one grant: record the minors apart")
            family = desk.record_for_family(
                consent_form, list(minors), recorded_by=collector, form_file=stored
            )
            _print_recorded(family, json_out=json_out)
            return
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


def _print_recorded(done: list[Recorded], *, json_out: bool) -> None:
    """The grants one family form made: one id per line (JSON: a list)."""
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "grants": [
                        {
                            "grant_id": d.grant_id,
                            "ledger_index": d.ledger_index,
                            "consent_id": d.consent_id,
                            "already_recorded": d.already,
                        }
                        for d in done
                    ]
                }
            )
        )
        return
    for d in done:
        typer.echo(d.grant_id)
        said = "was already on the ledger" if d.already else "recorded"
        err.print(f"consent {said}: {d.grant_id}, ledger entry {d.ledger_index}")


def _case_manager(desk: ConsentDesk, record_id: str) -> str:
    found = desk.state.client(record_id)
    if found is None:
        raise NodeError(
            "that case number is not on this node's current roster",
            "Check the case number; if the client is new, export and encode the roster "
            "first, or give --collected-by with your staff id.",
            exit_code=3,
        )
    if not found.case_manager_id:  # a family member listed without being served
        raise NodeError(
            "no case manager is assigned to that case number",
            "Give --collected-by with the staff id of who took the form.",
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
    with open_desk(agency, hub, key_dir, state_dir, passphrase_file, log_public_key) as (desk, _):
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
    with open_desk(agency, hub, key_dir, state_dir, passphrase_file, log_public_key) as (desk, _):
        done = desk.revoke(
            grant_id,
            effective=parse_day(effective, "--effective"),
            reason=reason,
            recorded_by="cli",
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


app.command("import")(consent_bulk_cli.import_forms)
app.command("export-fhir")(consent_bulk_cli.export_fhir)
