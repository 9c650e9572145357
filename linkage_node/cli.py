"""`pprl node ...`: the agency data steward's commands.

`validate` exits 3 when any row would be rejected (`--max-rejected` allows some);
`encode` encodes what is valid when at most `--max-rejected` rows (default 1%) are bad,
and exits 3 writing nothing otherwise, or when the export would remove more known
clients than `--allow-removals` (default 10%). Both print the problem table and write
rejects to a file on request. No command prints or writes a cell value unless
`--show-values` asks to print it on this terminal.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from contract.errors import HubRefused
from keys import LinkageSecret
from linkage_node import users_cli
from linkage_node.consent_cli import app as consent_app
from linkage_node.key_request import request_key
from linkage_node.roster import (
    RULES,
    ColumnMapping,
    Issue,
    RosterResult,
    parse_policies,
    validate_roster,
)
from linkage_node.state_cli import app as state_app
from linkage_node.witness_cli import LogPublicKey, witness_round
from linkage_node.witness_cli import app as witness_app

if TYPE_CHECKING:
    from contract.client import HubClient

app = typer.Typer(help="The agency node: validate and encode roster exports.", no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)

Mapping = Annotated[
    Path | None,
    typer.Option("--mapping", help="JSON mapping of your column names (and date formats)."),
]
Policy = Annotated[
    list[str] | None,
    typer.Option("--policy", help="Override a rule's action: RULE=reject|drop_field (repeatable)."),
]
ShowValues = Annotated[
    bool,
    typer.Option(
        "--show-values", help="Print offending cell values on this terminal (never in files)."
    ),
]
Rejects = Annotated[
    Path | None,
    typer.Option(
        "--rejects", help="Write rejected rows' line, column and rule (no values) to this CSV."
    ),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")]
Delimiter = Annotated[
    str | None,
    typer.Option(
        "--delimiter",
        help="The export's field separator (default: found from the header: , ; tab |).",
    ),
]
Encoding = Annotated[
    str,
    typer.Option("--encoding", help="The export's text encoding, e.g. cp1252 (default UTF-8)."),
]
MaxRejected = Annotated[
    str | None,
    typer.Option(
        "--max-rejected",
        metavar="N|P%",
        help="Rejected rows allowed before the run fails with exit 3 "
        "(validate: 0; encode: 1%; encode writes nothing beyond it).",
    ),
]
AllowRemovals = Annotated[
    str,
    typer.Option(
        "--allow-removals",
        envvar="PPRL_NODE_ALLOW_REMOVALS",
        metavar="N|P%",
        help="Known clients this run may remove (absent from the export); beyond it the "
        "run fails with exit 3 and writes nothing.",
    ),
]

_SHOWN_ISSUES = 50


def _report(result: RosterResult, show_values: bool) -> None:
    issues = result.issues
    if issues:
        table = Table("line", "column", "rule", "action", *(["value"] if show_values else []))
        for issue in issues[:_SHOWN_ISSUES]:
            row = [str(issue.line), issue.column, issue.rule, issue.action]
            if show_values:
                row.append(issue.value or "")
            table.add_row(*row)
        err.print(table)
        if len(issues) > _SHOWN_ISSUES:
            err.print(
                f"... and {len(issues) - _SHOWN_ISSUES} more (use --rejects to write them all)"
            )
        for rule, count in result.counts_by_rule().items():
            err.print(f"  {count:>7} x {rule}: {RULES[rule].description}")
    err.print(
        f"{result.rows} rows: {result.accepted} accepted "
        f"({result.with_dropped_fields} with fields dropped), {result.rejected} rejected"
    )


def _delimiter(text: str | None) -> str | None:
    """`--delimiter` as one character; "tab" and "\\t" name the tab."""
    if text is None:
        return None
    value = {"tab": "\t", "\\t": "\t"}.get(text.lower(), text)
    if len(value) != 1:
        raise typer.BadParameter("give one character, or 'tab'", param_hint="--delimiter")
    return value


def _report_plans(plans: Any) -> None:
    for issue in plans.issues[:_SHOWN_ISSUES]:
        err.print(f"  plans line {issue.line}, column {issue.column}: {issue.rule} (row left out)")
    if len(plans.issues) > _SHOWN_ISSUES:
        err.print(f"  ... and {len(plans.issues) - _SHOWN_ISSUES} more plan problems")


def _write_rejects(path: Path, issues: list[Issue]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "column", "rule", "action"])
        for issue in issues:
            writer.writerow([issue.line, issue.column, issue.rule, issue.action])


@app.command("validate")
def validate(
    roster: Annotated[Path, typer.Argument(help="The roster export (CSV with a header).")],
    mapping: Mapping = None,
    policy: Policy = None,
    show_values: ShowValues = False,
    rejects: Rejects = None,
    json_out: JsonOut = False,
    max_rejected: MaxRejected = None,
    delimiter: Delimiter = None,
    encoding: Encoding = "utf-8",
) -> None:
    """Check a roster and report every bad row by line, column and rule."""
    from linkage_node.guards import Allowance, GuardError, check_rejected
    from linkage_node.progress import progress_reporter

    allowance = Allowance.parse(max_rejected or "0", "--max-rejected")
    with progress_reporter(err) as report:
        result = validate_roster(
            roster,
            ColumnMapping.load(mapping) if mapping else None,
            parse_policies(policy or []),
            delimiter=_delimiter(delimiter),
            encoding=encoding,
            progress=report,
            keep_records=False,
        )
    _report(result, show_values)
    if rejects is not None:
        _write_rejects(rejects, result.issues)
    if json_out:
        typer.echo(json.dumps(result.summary(), indent=2))
    try:
        check_rejected("roster", result.rejected, result.rows, allowance)
    except GuardError:
        raise typer.Exit(3) from None


@app.command("encode")
def encode(
    agency: Annotated[str, typer.Option(help="Your agency id.")],
    secret_file: Annotated[
        Path,
        typer.Option(
            "--secret-file",
            envvar="PPRL_LINKAGE_SECRET_FILE",
            help="The linkage secret from `pprl keys unseal`.",
        ),
    ],
    input_path: Annotated[Path, typer.Option("--input", help="The roster export.")],
    output: Annotated[Path, typer.Option(help="The encodings file to write.")],
    schema: Annotated[
        Path | None, typer.Option(help="Linkage schema (default: the bundled default).")
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(help="The node's state directory (default: pprl-node/AGENCY)."),
    ] = None,
    mapping: Mapping = None,
    policy: Policy = None,
    show_values: ShowValues = False,
    rejects: Rejects = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Encoding processes (default: all cores).")
    ] = None,
    plans: Annotated[
        Path | None,
        typer.Option(help="Plan milestone export (CSV) to send with this run's changes."),
    ] = None,
    json_out: JsonOut = False,
    max_rejected: MaxRejected = None,
    allow_removals: AllowRemovals = "10%",
    delimiter: Delimiter = None,
    encoding: Encoding = "utf-8",
) -> None:
    """Validate, normalise and encode a roster; only new and changed records are encoded."""
    from linkage_node.errors import check_writable
    from linkage_node.guards import DEFAULT_REJECTED_ENCODE, Allowance, GuardError
    from linkage_node.job import run_encoding_job
    from linkage_node.progress import progress_reporter
    from linkage_node.schema import load_schema, schema_summary

    removals = Allowance.parse(allow_removals, "--allow-removals")
    rejected = Allowance.parse(max_rejected or DEFAULT_REJECTED_ENCODE, "--max-rejected")
    check_writable(output, "--output")  # before the secret, the schema and minutes of work
    linkage_schema = load_schema(schema)
    secret = LinkageSecret.load(secret_file)
    try:
        with progress_reporter(err) as report:
            result = run_encoding_job(
                agency_id=agency,
                schema=linkage_schema,
                secret=secret,
                roster_path=input_path,
                output=output,
                state_dir=state_dir or Path("pprl-node") / agency,
                mapping=ColumnMapping.load(mapping) if mapping else None,
                policies=parse_policies(policy or []),
                workers=workers,
                progress=report,
                plans_path=plans,
                allow_removals=removals,
                max_rejected=rejected,
                delimiter=_delimiter(delimiter),
                encoding=encoding,
            )
    except GuardError as exc:
        if exc.rejected is not None:
            roster_result, plan_result = exc.rejected
            _report(roster_result, show_values)
            if plan_result is not None:
                _report_plans(plan_result)
            if rejects is not None:
                _write_rejects(rejects, roster_result.issues)
        raise
    _report(result.roster, show_values)
    if rejects is not None:
        _write_rejects(rejects, result.roster.issues)
    diff = result.diff
    err.print(f"schema {schema_summary(linkage_schema)}, secret epoch {secret.epoch}")
    err.print(
        f"since the last run: {diff.new} new, {diff.changed} changed, "
        f"{diff.removed} removed, {diff.unchanged} unchanged; encoded {result.encoded} "
        f"in {result.seconds:.1f} s; mean popcount {result.mean_popcount:.1%}"
    )
    err.print(f"wrote {result.header.record_count} encodings to {output}")
    if result.plans is not None:
        _report_plans(result.plans)
        err.print(
            f"plans: {result.plans.rows} rows, {len(result.plans.milestones)} valid; "
            f"{result.plan_changes} new or changed, {result.plan_removals} removed "
            "since the last run"
        )
    if json_out:
        typer.echo(
            json.dumps(
                {
                    **result.roster.summary(),
                    "new": diff.new,
                    "changed": diff.changed,
                    "removed": diff.removed,
                    "unchanged": diff.unchanged,
                    "encoded": result.encoded,
                    "run_id": result.run_id,
                    "mean_popcount": round(result.mean_popcount, 4),
                    "schema_fingerprint": result.header.schema_fingerprint,
                    "epoch": result.header.epoch,
                },
                indent=2,
            )
        )


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
            help="CSV of case managers' contact details (case_manager_id, display_name, ...)."
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
    from keys.cli import load_identity
    from linkage_node.hub_client import node_client
    from linkage_node.job import STATE_FILE
    from linkage_node.state import NodeState
    from linkage_node.sync import load_staff, sync

    identity = load_identity(key_dir, passphrase_file, passphrase_prompt)
    if identity.agency_id != agency:
        raise typer.BadParameter(f"the keys in {key_dir} are agency {identity.agency_id}'s")
    directory = state_dir or Path("pprl-node") / agency
    if not (directory / STATE_FILE).exists():
        raise typer.BadParameter(f"no node state in {directory}; run `pprl node encode` first")
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
app.add_typer(consent_app, name="consent")
app.command("add-user")(users_cli.add_user)
app.command("list-users")(users_cli.list_users)
app.command("disable-user")(users_cli.disable_user)
app.command("remove-user")(users_cli.remove_user)
app.command("request-key")(request_key)

review_app = typer.Typer(
    help="Answer the hub's review queue about your own records.", no_args_is_help=True
)
app.add_typer(review_app, name="review")


def _review_client(
    agency: str,
    hub: str,
    key_dir: Path,
    steward: str,
    passphrase_file: Path | None,
    *,
    state_dir: Path | None,
    log_public_key: Path | None,
) -> HubClient:
    from keys.cli import load_identity
    from linkage_node.hub_client import node_client

    identity = load_identity(key_dir, passphrase_file, False)
    if identity.agency_id != agency:
        raise typer.BadParameter(f"the keys in {key_dir} are agency {identity.agency_id}'s")
    # The review queue is about linked records: witness the ledger before answering.
    witness_round(hub, identity, state_dir or Path("pprl-node") / agency, log_public_key)
    # The steward asks through the node's role; the hub records the steward with the answer.
    return node_client(hub, identity, subject=steward)


ReviewHub = Annotated[str, typer.Option("--hub", envvar="PPRL_HUB_URL", help="The hub's URL.")]
ReviewKeys = Annotated[Path, typer.Option("--key-dir", help="Your agency's keys.")]
Steward = Annotated[str, typer.Option(help="Your staff id (recorded with each answer).")]


@review_app.command("list")
def review_list(
    agency: Annotated[str, typer.Option(help="Your agency id.")],
    hub: ReviewHub,
    key_dir: ReviewKeys,
    steward: Steward,
    state_dir: Annotated[
        Path | None,
        typer.Option(help="The node's state directory (default: pprl-node/AGENCY)."),
    ] = None,
    passphrase_file: Annotated[Path | None, typer.Option("--passphrase-file")] = None,
    log_public_key: LogPublicKey = None,
) -> None:
    """Items waiting for your answer, each with your own record (never the other
    agency's): item id, score, your case number and name."""
    from linkage_node.job import STATE_FILE
    from linkage_node.state import ClientName, NodeState

    with _review_client(
        agency,
        hub,
        key_dir,
        steward,
        passphrase_file,
        state_dir=state_dir,
        log_public_key=log_public_key,
    ) as client:
        items = client.review_queue(agency)
    state = NodeState((state_dir or Path("pprl-node") / agency) / STATE_FILE, agency)
    try:
        wanted = [r for item in items for r in (item.ref, item.other_ref) if r]
        known = state.clients_by_ref(wanted)
    finally:
        state.close()
    table = Table("item", "score", "case number", "name", "born", "your answer", "other side")
    gone = ClientName("(not in your current roster)", "", "")
    for item in items:
        record_id, name, born = known.get(item.ref, gone)
        other = "answered" if item.other_answered else "waiting"
        if item.other_ref:  # the agency's own two records: both are shown
            twin = known.get(item.other_ref, gone)
            record_id, name, born = (
                f"{record_id} and {twin.record_id}",
                f"{name} / {twin.name}",
                f"{born} / {twin.date_of_birth}",
            )
            other = "your own two records"
        table.add_row(
            item.item_id,
            f"{item.score:.3f}",
            record_id,
            name,
            born,
            item.my_answer or "-",
            other,
        )
    Console(soft_wrap=True).print(table)


@review_app.command("answer")
def review_answer(
    agency: Annotated[str, typer.Option(help="Your agency id.")],
    hub: ReviewHub,
    key_dir: ReviewKeys,
    steward: Steward,
    item: Annotated[str, typer.Option(help="The item id from `pprl node review list`.")],
    answer: Annotated[
        Literal["same", "different", "unsure"],
        typer.Option(help="Whether the two records are the same person."),
    ],
    passphrase_file: Annotated[Path | None, typer.Option("--passphrase-file")] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(help="The node's state directory (default: pprl-node/AGENCY)."),
    ] = None,
    log_public_key: LogPublicKey = None,
) -> None:
    """Say whether your record and the other agency's are the same person."""
    with _review_client(
        agency,
        hub,
        key_dir,
        steward,
        passphrase_file,
        state_dir=state_dir,
        log_public_key=log_public_key,
    ) as client:
        try:
            recorded = client.answer_review(agency, item, answer)
        except HubRefused as refused:
            refused.fix = "Is the item id from `pprl node review list`?"
            raise
    other = (
        "the other agency has answered too"
        if recorded.other_answered
        else "waiting for the other agency"
    )
    err.print(f"recorded: {answer} ({other})")
