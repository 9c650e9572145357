"""`pprl hub ...`: operate the hub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

app = typer.Typer(help="Operate the hub.", no_args_is_help=True)
err = Console(stderr=True)


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

    ledger = HubLedger(LogKey.load(log_key))
    engine = create_db_engine(database_url or get_settings().database_url)
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
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the hub (settings from PPRL_* variables; run `pprl hub migrate` first)."""
    import uvicorn

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
    token_file: Annotated[
        Path, typer.Option(help="An operator token (from your identity provider).")
    ],
    public: Annotated[Path, typer.Option(help="The agency's agency.json.")],
) -> None:
    """Register an agency with a running hub (operators)."""
    import httpx

    from keys import AgencyPublicKeys

    doc = AgencyPublicKeys.from_json(public.read_bytes(), str(public))
    token = token_file.read_text(encoding="ascii").strip()
    response = httpx.post(
        f"{hub.rstrip('/')}/v1/agencies",
        json=doc.model_dump(),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if response.status_code != 201:
        _refused(response)
    err.print(f"registered agency {doc.agency_id} ({', '.join(doc.programs)}) with {hub}")


def _refused(response: Any) -> NoReturn:
    detail = (
        response.json().get("detail")
        if response.headers.get("content-type", "").endswith("json")
        else ""
    )
    err.print(f"the hub refused: {response.status_code} {detail}")
    raise typer.Exit(1)


@app.command("notify")
def notify_command() -> None:
    """Deliver queued notification email once (the served hub also does this on a
    schedule when PPRL_SMTP_HOST is set). Reads the hub's PPRL_* settings."""
    from hub.app import deliver_notifications
    from hub.context import HubContext
    from hub.settings import get_settings

    hub = HubContext.build(get_settings())
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
    token_file: Annotated[
        Path, typer.Option(help="An operator token (from your identity provider).")
    ],
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
    import time

    import httpx

    if threshold is not None and not full:
        raise typer.BadParameter(
            "an incremental run keeps the last run's threshold; add --full to change it",
            param_hint="--threshold",
        )
    headers = {"Authorization": f"Bearer {token_file.read_text(encoding='ascii').strip()}"}
    base = hub.rstrip("/")
    body: dict[str, Any] = {"kind": "full" if full else "incremental"}
    if threshold is not None:
        body["threshold"] = threshold
    response = httpx.post(f"{base}/v1/linkage/runs", json=body, headers=headers, timeout=30)
    if response.status_code != 202:
        _refused(response)
    run = response.json()
    err.print(f"linkage run {run['run_id']} ({run['kind']}) {run['status']}")
    deadline = time.monotonic() + timeout
    while wait and run["status"] in ("queued", "running"):
        if time.monotonic() > deadline:
            err.print(f"run {run['run_id']} still {run['status']} after {timeout:.0f} s")
            raise typer.Exit(1)
        time.sleep(0.5)
        response = httpx.get(f"{base}/v1/linkage/runs/{run['run_id']}", headers=headers, timeout=30)
        if response.status_code != 200:
            _refused(response)
        run = response.json()
    if run["status"] == "failed":
        err.print(f"run {run['run_id']} failed: {run['error']}")
        raise typer.Exit(1)
    if run["status"] == "succeeded":
        counts = run["counts"] or {}
        records = sum((counts.get("records") or {}).values())
        err.print(
            f"run {run['run_id']} succeeded at threshold {run['threshold']:.3f} "
            f"({run['threshold_source']}): {counts.get('clusters', 0)} clusters, "
            f"{counts.get('links', 0)} links ({counts.get('links_for_review', 0)} for review) "
            f"from {records} records"
        )
    typer.echo(json.dumps(run, sort_keys=True))


@app.command("link")
def link_files(
    files: Annotated[list[Path], typer.Argument(help="Encodings files from `pprl node encode`.")],
    output: Annotated[Path, typer.Option(help="The clusters CSV to write.")],
    threshold: Annotated[str, typer.Option(help="'auto' or a Dice score such as 0.8.")] = "auto",
    dedupe_within: Annotated[
        bool, typer.Option(help="Also flag likely duplicates within an agency.")
    ] = False,
) -> None:
    """Link encodings files offline (air-gapped pilots, benchmarks)."""
    from hub.linkage.engine import LinkParams, link
    from hub.linkage.files import EncodingsFileError, read_compatible, write_clusters

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
    try:
        datasets = read_compatible(files)
    except (EncodingsFileError, OSError) as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(3) from None
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
        err.print(f"{len(state.links(duplicates=True))} possible duplicates within agencies")
    typer.echo(str(output))
