"""`pprl node ...`: the agency data steward's commands. Validating and encoding an
export are in `encode_cli`, the review queue in `review_cli`, consent in `consent_cli`,
the witness in `witness_cli`, backups in `state_cli`; here: sync, the schema, resolving
a reference, and serving the case managers' pages."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from linkage_node import encode_cli, lookup_cli, run_cli, sync_report_cli, users_cli
from linkage_node.consent_cli import app as consent_app
from linkage_node.key_request import request_key
from linkage_node.provisional_cli import app as provisional_app
from linkage_node.review_cli import app as review_app
from linkage_node.state_cli import app as state_app
from linkage_node.witness_cli import LogPublicKey, witness_round
from linkage_node.witness_cli import app as witness_app

app = typer.Typer(help="The agency node: validate and encode roster exports.", no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)

app.command("validate")(encode_cli.validate)
app.command("encode")(encode_cli.encode)
app.command("lookup")(lookup_cli.lookup)
app.command("run")(run_cli.run)
app.command("sync-report")(sync_report_cli.sync_report_command)


@app.command("sync")
def sync_command(
    agency: Annotated[str, typer.Option(help="Your agency id.")],
    hub: Annotated[str, typer.Option("--hub", envvar="PPRL_HUB_URL", help="The hub's base URL.")],
    key_dir: Annotated[
        Path, typer.Option("--key-dir", envvar="PPRL_KEY_DIR", help="Your agency's key directory.")
    ],
    state_dir: Annotated[
        Path | None,
        typer.Option(help="The node's state directory (default: pprl-node/AGENCY)."),
    ] = None,
    staff: Annotated[
        Path | None,
        typer.Option(
            help="Staff file: case_manager_id and display_name, phone, email, office, unit, "
            "supervisor_id (with supervisor_id, the org structure is sent too)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 5000,
    retry_for: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds to keep retrying a batch while the hub is unreachable or busy "
            "(a hub restart, a deploy) before giving up.",
        ),
    ] = 60.0,
    audience: Annotated[str, typer.Option(envvar="PPRL_HUB_AUDIENCE")] = "pprl-hub",
    passphrase_file: Annotated[Path | None, typer.Option("--passphrase-file")] = None,
    passphrase_prompt: Annotated[bool, typer.Option("--passphrase-prompt")] = False,
    log_public_key: LogPublicKey = None,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="This node's state was made afresh (lost, no backup): replace every record "
            "the hub holds for the agency with this state's. Their links are re-formed by "
            "the next linkage run.",
        ),
    ] = False,
) -> None:
    """Send every encoding run's changes to the hub, then witness its consent ledger.
    Safe to run again after any failure; exits 4 if the ledger went back or forked."""
    from linkage_node.consent_options import agency_and_state
    from linkage_node.hub_client import node_client
    from linkage_node.job import STATE_FILE
    from linkage_node.staff_file import load_staff
    from linkage_node.state import NodeState
    from linkage_node.sync import sync

    identity, directory = agency_and_state(
        agency, key_dir, state_dir, passphrase_file, passphrase_prompt
    )
    state = NodeState(directory / STATE_FILE, agency)
    client = node_client(hub, identity, audience=audience, retry_for=retry_for, notice=err.print)
    try:
        report = sync(
            state,
            agency,
            client,
            batch_size=batch_size,
            staff=load_staff(staff) if staff else None,
            progress=err.print,
            reset=reset,
        )
    finally:
        client.close()
        state.close()
    if report.replaced:
        err.print(
            f"[yellow]--reset:[/] the hub dropped the {report.replaced} records it held for "
            f"{agency} from the earlier state and took this state's instead"
        )
    err.print(
        f"synced {report.runs} runs: {report.batches_sent} batches acknowledged "
        f"({report.batches_replayed} were replays of batches the hub already had), "
        f"{report.batches_skipped} skipped as acknowledged before; "
        f"{report.records['encodings']} encoding changes, "
        f"{report.records['assignments']} assignment changes, "
        f"{report.records['milestones']} milestone changes"
    )
    if report.org is not None:
        err.print(
            f"org structure: the hub holds {report.org.staff} staff, "
            f"{report.org.supervisors} of them supervising others"
        )
    witness_round(hub, identity, directory, log_public_key)


@app.command("schema")
def schema_command(
    schema: Annotated[
        Path | None, typer.Option(help="A schema file (default: the bundled one).")
    ] = None,
    fingerprint: Annotated[
        bool, typer.Option("--fingerprint", help="Print only the fingerprint.")
    ] = False,
) -> None:
    """Show the linkage schema's fingerprint (what the hub operator configures)."""
    from linkage_node.schema import load_schema, schema_summary

    linkage_schema = load_schema(schema)
    if fingerprint:
        typer.echo(linkage_schema.fingerprint)
        return
    err.print(schema_summary(linkage_schema))
    typer.echo(
        json.dumps(
            {
                "name": linkage_schema.name,
                "bits": linkage_schema.bits,
                "fingerprint": linkage_schema.fingerprint,
            },
            indent=2,
        )
    )


@app.command("resolve")
def resolve(
    agency: Annotated[str, typer.Option(help="Your agency id.")],
    input_path: Annotated[Path, typer.Option("--input", help="clusters.csv from `pprl hub link`.")],
    output: Annotated[
        Path, typer.Option(help="Where to write the same rows with your record ids.")
    ],
    state_dir: Annotated[
        Path | None, typer.Option(help="The node's state directory (default: pprl-node/AGENCY).")
    ] = None,
) -> None:
    """Turn your own references in a clusters file back into your record ids; other
    agencies' rows stay opaque."""
    import os
    import sqlite3

    from linkage_node.job import STATE_FILE

    directory = state_dir or Path("pprl-node") / agency
    if not (directory / STATE_FILE).exists():
        raise typer.BadParameter(f"no node state in {directory}", param_hint="--state-dir")
    columns = ["cluster_id", "agency", "record_id"]
    try:
        with input_path.open(newline="", encoding="utf-8") as src:
            reader = csv.reader(src)
            header = next(reader, None)
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise typer.BadParameter(f"cannot read {input_path}: {exc}", param_hint="--input") from None
    if header != columns:
        raise typer.BadParameter(
            f"{input_path}: expected the columns {','.join(columns)} (from `pprl hub link`)",
            param_hint="--input",
        )
    for number, row in enumerate(rows, start=2):
        if len(row) != 3:
            raise typer.BadParameter(
                f"{input_path}: line {number} has {len(row)} fields, not 3", param_hint="--input"
            )
    with sqlite3.connect(directory / STATE_FILE) as db:
        mapping = dict(db.execute("SELECT ref, record_id FROM record"))
    resolved = unknown = 0
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as dst:
        writer = csv.writer(dst)
        writer.writerow(columns)
        for cluster_id, row_agency, ref in rows:
            record_id = ref
            if row_agency == agency:
                if ref in mapping:
                    record_id, resolved = mapping[ref], resolved + 1
                else:
                    unknown += 1
            writer.writerow([cluster_id, row_agency, record_id])
    os.replace(tmp, output)
    err.print(
        f"{resolved} of your records resolved"
        + (f"; {unknown} references unknown to this node (removed since?)" if unknown else "")
    )


@app.command("serve")
def serve(
    agency: Annotated[str, typer.Option(help="Your agency id.")],
    hub: Annotated[str, typer.Option("--hub", envvar="PPRL_HUB_URL", help="The hub's base URL.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8780,
    key_dir: Annotated[
        Path | None, typer.Option(help="The agency's keys (default: pprl-keys/AGENCY).")
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(help="The node's state directory (default: pprl-node/AGENCY)."),
    ] = None,
    log_public_key: LogPublicKey = None,
    passphrase_file: Annotated[
        Path | None,
        typer.Option(
            "--passphrase-file",
            help="File holding the keys' passphrase (or set PPRL_KEY_PASSPHRASE).",
        ),
    ] = None,
    consent_form: Annotated[
        Path | None,
        typer.Option(
            "--consent-form",
            envvar="PPRL_NODE_CONSENT_FORM_FILE",
            help="The deployment's universal consent form (JSON: form_version, recipients, "
            "data_classes, duration_days): pre-ticked on the Record consent form.",
        ),
    ] = None,
) -> None:
    """Serve the case managers' pages (caseload, clients) on this node; they witness the
    hub's consent ledger and check every grant an answer relies on."""
    import uvicorn

    from linkage_node.transport import is_loopback_host
    from linkage_node.web import NodeWebSettings, create_node_app

    # Pages served beyond this machine sit behind a TLS proxy: their cookies are Secure
    # unless PPRL_NODE_COOKIE_SECURE says otherwise.
    settings = NodeWebSettings(
        agency=agency,
        hub_url=hub,
        key_dir=key_dir,
        state_dir=state_dir,
        log_public_key_file=log_public_key,
        consent_form_file=consent_form,
    )
    if "PPRL_NODE_COOKIE_SECURE" not in os.environ:
        settings = settings.model_copy(update={"cookie_secure": not is_loopback_host(host)})
    from keys.cli import read_passphrase

    app = create_node_app(settings, passphrase=read_passphrase(passphrase_file))
    from linkage_node.web.logs import configure_logging

    configure_logging()
    err.print(f"node pages for {agency} at http://{host}:{port}/ (hub {hub})")
    uvicorn.run(app, host=host, port=port, log_level="warning")


app.add_typer(witness_app, name="witness")
app.add_typer(state_app, name="state")
app.add_typer(provisional_app, name="provisional")
app.add_typer(consent_app, name="consent")
app.command("add-user")(users_cli.add_user)
app.command("list-users")(users_cli.list_users)
app.command("disable-user")(users_cli.disable_user)
app.command("remove-user")(users_cli.remove_user)
app.command("request-key")(request_key)
app.add_typer(review_app, name="review")
