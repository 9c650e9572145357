"""`pprl hub purge-history`: the retention job for enrollment history.

Run it from cron or a systemd timer (daily is plenty). It deletes the records that exited
more than the retention period ago (`PPRL_HISTORY_RETENTION_DAYS`, seven years by
default), says how many of each agency went, and with `--dry-run` only counts them. It
never deletes a current record.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

err = Console(stderr=True, soft_wrap=True)


def purge_history(
    older_than_days: Annotated[
        int | None,
        typer.Option(
            "--older-than-days",
            min=365,
            max=36_500,
            help="Purge records that exited more than this many days ago "
            "(default: PPRL_HISTORY_RETENTION_DAYS, 2557 = seven years).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be purged.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Delete enrollment history past the retention period (its encodings, and any contact
    or plan left); the next linkage run dissolves its links."""
    from sqlmodel import Session

    from hub.db import create_db_engine
    from hub.services.retention import purge_history as purge
    from hub.services.retention import retention_cutoff
    from hub.settings import get_settings
    from hub.setup_checks import require_migrated

    settings = get_settings()
    days = older_than_days or settings.history_retention_days
    cutoff = retention_cutoff(datetime.now(UTC).date(), days)
    require_migrated(settings.database_url)
    engine = create_db_engine(settings.database_url)
    try:
        with Session(engine) as session:
            counts = purge(session, exited_before=cutoff, dry_run=dry_run)
            session.commit()
    finally:
        engine.dispose()
    total = sum(counts.values())
    verb = "would purge" if dry_run else "purged"
    per_agency = ", ".join(f"{agency} {n}" for agency, n in sorted(counts.items()))
    err.print(
        f"{verb} {total} record{'s' * (total != 1)} that exited before {cutoff.isoformat()}"
        + (f" ({per_agency})" if per_agency else "")
        + ("; run again without --dry-run to purge them" if dry_run and total else "")
    )
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "exited_before": cutoff.isoformat(),
                    "dry_run": dry_run,
                    "purged": dict(sorted(counts.items())),
                },
                indent=2,
            )
        )
