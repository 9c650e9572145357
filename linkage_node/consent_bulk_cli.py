"""`pprl node consent import` and `export-fhir`: many signed forms at once from the
agency's consent export, and the agency's grants as FHIR R4 Consent resources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from linkage_node.errors import NodeError
from linkage_node.witness_cli import LogPublicKey

if TYPE_CHECKING:
    from linkage_node.roster import Issue

from linkage_node.consent_options import (
    Agency,
    Hub,
    JsonOut,
    KeyDir,
    Passphrase,
    StateDir,
    open_desk,
)

err = Console(stderr=True, soft_wrap=True)


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
    with open_desk(agency, hub, key_dir, state_dir, passphrase_file, log_public_key) as (
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
            try:  # a parent's row makes one grant per minor too, all checked here
                forms = desk.family_forms(row.form, list(row.minors))
            except ConsentFormInvalid as exc:
                result.issues.append(Issue(row.line, exc.field, exc.what, "reject"))
                continue
            ready.append((row, forms))
        _print_issues(result.issues)
        check_rejected("consent", result.rejected, result.rows, allowance)
        recorded = already = 0
        refused: list[Issue] = []
        for row, forms in ready:
            stored = None
            if row.form_source is not None:
                stored = store_upload(directory, *read_form(row.form_source))[1]
            for form in forms:  # one per minor too, when the parent signed for them
                try:
                    done = desk.record(form, recorded_by="import", form_file=stored, refresh=False)
                except ConsentFormInvalid as exc:  # the ledger's own checks (recipients)
                    refused.append(Issue(row.line, exc.field, exc.what, "reject"))
                    break
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

    with open_desk(agency, hub, key_dir, state_dir, passphrase_file, log_public_key) as (desk, _):
        bundle = fhir_bundle(agency, desk.on_file(record_id))
    text = json.dumps(bundle, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    write_private(output, text.encode("utf-8"), overwrite=True)
    err.print(f"{len(bundle['entry'])} consents written to {output} (FHIR R4 Bundle)")
