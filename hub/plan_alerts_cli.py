"""`pprl hub plan-alerts`: tell case managers of new conflicts between programs' plans
and of milestones stuck too long, once each. Run it daily from cron or a systemd timer,
after the nodes' nightly syncs; `pprl hub notify` (or the served hub) emails what it
queues to those who want email.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from hub.services.plan_alerts import SweepResult
    from hub.settings import HubSettings

err = Console(stderr=True, soft_wrap=True)


def run_plan_alerts(settings: HubSettings) -> SweepResult:
    """One sweep against the hub's database, as the command runs it; raises
    `PlanAlertsUnavailable` when the hub's keys are not configured."""
    from sqlmodel import Session

    from hub.context import HubContext
    from hub.disclosure import DisclosureEngine
    from hub.services.plan_alerts import sweep
    from hub.services.team import PlanRules

    hub = HubContext.build(settings)
    try:
        if hub.ledger is None or hub.cipher is None:
            raise PlanAlertsUnavailable
        with Session(hub.engine) as session:
            engine = DisclosureEngine(hub.ledger, hub.cipher, settings)
            result = sweep(engine, session, PlanRules.of(settings), now=datetime.now(UTC))
            session.commit()
        return result
    finally:
        hub.engine.dispose()


class PlanAlertsUnavailable(Exception):
    """The sweep reads the consent ledger and the sealed plans: it needs both keys."""


def plan_alerts(
    json_out: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Queue `new_conflict` and `milestone_stuck` notifications (naming no client) for
    the case managers of linked clients, as far as each may see the plans."""
    from hub.settings import get_settings
    from hub.setup_checks import require_migrated

    settings = get_settings()
    require_migrated(settings.database_url)
    try:
        result = run_plan_alerts(settings)
    except PlanAlertsUnavailable:
        err.print(
            "error: plan alerts read the consent ledger and the sealed plans: set "
            "PPRL_LOG_KEY_FILE and PPRL_DATA_KEY_FILE as for `pprl hub serve`"
        )
        raise typer.Exit(1) from None
    if json_out:
        typer.echo(json.dumps(result.__dict__, indent=2))
    err.print(
        f"plan alerts: {result.clients} linked clients looked at; {result.new_conflicts} new "
        f"conflicts and {result.newly_stuck} milestones stuck too long; {result.queued} "
        "notifications queued"
    )
