"""`pprl hub ...`: operate the hub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from contract.client import HubClient

app = typer.Typer(help="Operate the hub.", no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)

HubUrl = Annotated[str, typer.Option("--hub", envvar="PPRL_HUB_URL", help="The hub's base URL.")]
TokenFile = Annotated[
    Path | None,
    typer.Option(
        help="An operator token, or the file `pprl hub sign-in` wrote. Without it: the "
        "job client of PPRL_OPERATOR_JOB_CLIENT_ID."
    ),
]


@app.command("migrate")
def migrate(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="PPRL_DATABASE_URL",
            help="SQLAlchemy URL (default: the hub setting, sqlite:///pprl-hub.db).",
        ),
    ] = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Bring the hub database schema up to date (run before starting the hub)."""
    # Imported here: SQLAlchemy and Alembic take a second to import, and every other
    # `pprl` command would pay for it.
    from hub import migrate as migrations
    from hub.db import create_db_engine
    from hub.settings import get_settings

    engine = create_db_engine(database_url or get_settings().database_url)
    try:
        before = migrations.current_revision(engine)
        migrations.upgrade(engine, revision)
        after = migrations.current_revision(engine)
    finally:
        engine.dispose()
    err.print(f"database schema at revision {after} (was {before or 'empty'})")


@app.command("init-log-key")
def init_log_key(
    output: Annotated[Path, typer.Option(help="Private key file to create (mode 0600).")],
    name: Annotated[
        str, typer.Option(help="The log's name (origin), e.g. hub.example.gov/consent-ledger.")
    ],
) -> None:
    """Create the hub's log key; publish the `.vkey` file written next to it."""
    from consent import LogKey

    key = LogKey.generate(name)
    key.save(output)
    err.print(f"log key {name} written to {output}; publish {output}.vkey:")
    typer.echo(key.verifier.vkey())


@app.command("checkpoint")
def checkpoint(
    log_key: Annotated[
        Path, typer.Option("--log-key", envvar="PPRL_LOG_KEY_FILE", help="The hub's log key.")
    ],
    database_url: Annotated[
        str | None, typer.Option("--database-url", envvar="PPRL_DATABASE_URL")
    ] = None,
) -> None:
    """Sign a checkpoint of the ledger as it stands now (if it grew since the last one)."""
    from sqlmodel import Session

    from consent import LogKey
    from hub.db import create_db_engine
    from hub.services.ledger import HubLedger
    from hub.settings import get_settings
    from hub.setup_checks import require_migrated

    ledger = HubLedger(LogKey.load(log_key))
    url = database_url or get_settings().database_url
    require_migrated(url)
    engine = create_db_engine(url)
    try:
        with Session(engine) as session:
            note = ledger.issue_checkpoint(session)
            session.commit()
    finally:
        engine.dispose()
    if note is None:
        err.print("no new entries since the last checkpoint; none issued")
    else:
        typer.echo(note, nl=False)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8765,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the hub (settings from PPRL_* variables; run `pprl hub migrate` first)."""
    import uvicorn

    from hub.settings import get_settings
    from hub.setup_checks import require_key_files, require_migrated

    # Checked here, once, so a bad setting, key file or an unmigrated database is one
    # line of advice instead of a traceback from every worker (and no empty SQLite file
    # appears).
    settings = get_settings()
    require_key_files(settings)
    require_migrated(settings.database_url)
    err.print(f"pprl hub listening on http://{host}:{port} (stop with Ctrl+C)")
    uvicorn.run(
        "hub.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


@app.command("register-agency")
def register_agency(
    hub: Annotated[str, typer.Option("--hub", envvar="PPRL_HUB_URL", help="The hub's base URL.")],
    public: Annotated[Path, typer.Option(help="The agency's agency.json.")],
    token_file: TokenFile = None,
) -> None:
    """Register an agency with a running hub (operators)."""
    from keys import AgencyPublicKeys

    with _operator_client(hub, token_file) as client:  # reads the token first
        doc = AgencyPublicKeys.from_json(public.read_bytes(), str(public))
        client.register_agency(doc.model_dump())
    err.print(f"registered agency {doc.agency_id} ({', '.join(doc.programs)}) with {hub}")


def _operator_client(hub: str, token_file: Path | None) -> HubClient:
    """A client to the hub with the operator's tokens (`hub.cli_tokens`); a refusal or
    an unreachable hub is reported by `pprl` in one line (contract.errors)."""
    from contract.client import HubClient
    from hub.cli_tokens import operator_tokens

    return HubClient(hub, operator_tokens(hub, token_file), timeout=30)


@app.command("notify")
def notify_command() -> None:
    """Deliver queued notification email once (the served hub also does this on a
    schedule when PPRL_SMTP_HOST is set). Reads the hub's PPRL_* settings."""
    from hub.app import deliver_notifications
    from hub.context import HubContext
    from hub.settings import get_settings
    from hub.setup_checks import require_migrated

    settings = get_settings()
    require_migrated(settings.database_url)
    hub = HubContext.build(settings)
    try:
        outcome = deliver_notifications(hub)
    except RuntimeError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1) from None
    finally:
        hub.engine.dispose()
    summary = ", ".join(f"{n} {status}" for status, n in sorted(outcome.items())) or "nothing due"
    err.print(f"notifications: {summary}")


@app.command("run-linkage")
def run_linkage(
    hub: Annotated[str, typer.Option("--hub", envvar="PPRL_HUB_URL", help="The hub's base URL.")],
    token_file: TokenFile = None,
    full: Annotated[
        bool, typer.Option(help="Re-link everything instead of applying what changed.")
    ] = False,
    threshold: Annotated[
        float | None,
        typer.Option(
            min=0.01, max=1.0, help="Dice threshold for a full run (default: proposed from scores)."
        ),
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the run to finish.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait at most.")] = 3600.0,
) -> None:
    """Ask a running hub to link what agencies have uploaded (operators)."""
    from contract import LinkageRunIn, LinkageRunOut

    if threshold is not None and not full:
        raise typer.BadParameter(
            "an incremental run keeps the last run's threshold; add --full to change it",
            param_hint="--threshold",
        )

    def progress(run: LinkageRunOut) -> None:
        err.print(f"run {run.run_id}: {run.stage} ({run.progress:.0%})")

    with _operator_client(hub, token_file) as client:
        request = LinkageRunIn(kind="full" if full else "incremental", threshold=threshold)
        run = client.start_linkage(request)
        err.print(f"linkage run {run.run_id} ({run.kind}) {run.status}")
        if wait and run.status in ("queued", "running"):
            run = client.wait_for_run(run.run_id, timeout=timeout, progress=progress)
    if run.status == "failed":
        err.print(f"run {run.run_id} failed: {run.error}")
        raise typer.Exit(1)
    if run.status == "succeeded":
        counts = run.counts or {}
        records = sum((counts.get("records") or {}).values())
        err.print(
            f"run {run.run_id} succeeded at threshold {run.threshold or 0:.3f} "
            f"({run.threshold_source}): {counts.get('clusters', 0)} clusters, "
            f"{counts.get('links', 0)} links ({counts.get('links_for_review', 0)} for review) "
            f"from {records} records"
        )
    typer.echo(json.dumps(run.model_dump(mode="json"), sort_keys=True))


@app.command("link")
def link_files(
    files: Annotated[list[Path], typer.Argument(help="Encodings files from `pprl node encode`.")],
    output: Annotated[Path, typer.Option(help="The clusters CSV to write.")],
    threshold: Annotated[str, typer.Option(help="'auto' or a Dice score such as 0.8.")] = "auto",
    dedupe_within: Annotated[
        bool,
        typer.Option(
            "--dedupe-within/--no-dedupe-within",
            help="Also score pairs within each agency: an agency's own records of one "
            "person (two case numbers) join that person's cluster. Off halves the time "
            "of a large run.",
        ),
    ] = True,
) -> None:
    """Link encodings files offline (air-gapped pilots, benchmarks)."""
    from hub.linkage.engine import LinkParams, link
    from hub.linkage.files import read_compatible, write_clusters

    if len(files) < 2:
        raise typer.BadParameter(
            "give at least two encodings files (one per agency) to link", param_hint="FILES"
        )
    value: float | None = None
    if threshold != "auto":
        try:
            value = float(threshold)
        except ValueError:
            raise typer.BadParameter(
                "use 'auto' or a number between 0 and 1", param_hint="--threshold"
            ) from None
        if not 0 < value <= 1:
            raise typer.BadParameter(
                "a Dice threshold is between 0 and 1", param_hint="--threshold"
            )
    datasets = read_compatible(files)  # a bad file: EncodingsFileError, exit status 3
    result = link(
        datasets, LinkParams(threshold=value, dedupe_within=dedupe_within), progress=err.print
    )
    rows = write_clusters(output, result.state)
    if result.proposal is not None:
        err.print(result.proposal.summary())
    state = result.state
    links = state.links()
    err.print(
        f"{len({r.cluster_id for r in state.clusters()})} clusters ({rows} records, "
        f"{len(links)} links, {sum(r.review for r in links)} for review) from "
        f"{sum(result.records.values())} records in {result.seconds:.1f} s at threshold "
        f"{result.threshold:.3f} ({result.threshold_source})"
    )
    if dedupe_within:
        err.print(
            f"{len(state.links(duplicates=True))} pairs of an agency's own records of one "
            "person joined their cluster (same cluster id in the output)"
        )
    typer.echo(str(output))


# --- agency keys: approval, revocation, recovery (README: "A stolen or lost agency key") --


def _operator_post(hub: str, token_file: Path | None, path: str, body: dict[str, Any]) -> Any:
    with _operator_client(hub, token_file) as client:
        return client.send("POST", path, what=f"POST {path}", json=body)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        err.print(f"error: cannot read {what} {path}: {exc}")
        raise typer.Exit(3) from None
    if not isinstance(doc, dict):
        err.print(f"error: {path} is not {what}")
        raise typer.Exit(3)
    return doc


@app.command("add-key")
def add_key(
    hub: HubUrl,
    request: Annotated[Path, typer.Option(help="The agency's `pprl node request-key` file.")],
    token_file: TokenFile = None,
) -> None:
    """Approve an agency's signed request for new keys (the second approval it needs)."""
    doc = _read_json(request, "a key request")
    agency = str(doc.get("agency_id", ""))
    out = _operator_post(hub, token_file, f"/v1/agencies/{agency}/keys", {"request": doc})
    added = [
        k["key_id"]
        for k in out["keys"]
        if k["key_id"] in {x.get("key_id") for x in doc.get("keys", [])}
    ]
    err.print(f"added {', '.join(added)} to agency {agency}; its old keys stay until revoked")


@app.command("revoke-key")
def revoke_key(
    hub: HubUrl,
    agency: Annotated[str, typer.Option(help="The agency whose key is revoked.")],
    token_file: TokenFile = None,
    key_id: Annotated[
        list[str] | None, typer.Option("--key-id", help="A key id to revoke (repeatable).")
    ] = None,
    public: Annotated[
        Path | None,
        typer.Option(help="An agency.json: revoke both keys it names (a lost key directory)."),
    ] = None,
    compromised_since: Annotated[
        str | None,
        typer.Option(
            help="ISO 8601 instant the key may first have leaked: grants it signed after that "
            "stop counting, and so do keys it approved after that, with all they signed."
        ),
    ] = None,
) -> None:
    """Revoke agency keys at once; tokens signed with them stop working."""
    ids = list(key_id or [])
    if public is not None:
        doc = _read_json(public, "an agency.json")
        ids += [str(doc.get("signing_key_id")), str(doc.get("sealing_key_id"))]
    if not ids:
        raise typer.BadParameter("give --key-id or --public", param_hint="--key-id")
    body = {"compromised_since": compromised_since} if compromised_since else {}
    for kid in ids:
        out = _operator_post(hub, token_file, f"/v1/agencies/{agency}/keys/{kid}/revoke", body)
    revoked = [k["key_id"] for k in out["keys"] if k["revoked_at"] is not None]
    live = [k["key_id"] for k in out["keys"] if k["revoked_at"] is None and k["kind"] == "ed25519"]
    err.print(f"agency {agency}: {len(revoked)} keys revoked ({', '.join(revoked)})")
    if not live:
        err.print(
            f"agency {agency} has no signing key left: once it has new keys, re-key it with "
            "`pprl hub recover-agency`"
        )


@app.command("recover-agency")
def recover_agency(
    hub: HubUrl,
    public: Annotated[Path, typer.Option(help="The agency's new agency.json.")],
    incident: Annotated[str, typer.Option(help="The incident's id, e.g. INC-2026-0042.")],
    token_file: TokenFile = None,
) -> None:
    """Re-key an agency that lost every signing key (verify the new agency.json with the
    agency by a second channel first)."""
    doc = _read_json(public, "an agency.json")
    agency = str(doc.get("agency_id", ""))
    body = {"public": doc, "incident": incident}
    _operator_post(hub, token_file, f"/v1/agencies/{agency}/recover", body)
    err.print(f"agency {agency} re-keyed under incident {incident}; its new keys work now")
