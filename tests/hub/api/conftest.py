"""An API under test: a hub app on the test database, inside the test's transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from hub.app import create_app
from hub.deps import get_session
from tests.conftest import database_url
from tests.hub.api.factories import (
    AGENCIES,
    A,
    Api,
    B,
    C,
    D,
    E,
    days_from_today,
    grant,
    link,
    make_settings,
    milestones,
    succeeded_run,
    upload,
)


@pytest.fixture
def api(db_engine: Engine, session: Session, tmp_path: Path) -> Iterator[Api]:
    settings, log, operators = make_settings(tmp_path, database_url(db_engine))
    app = create_app(settings)
    app.dependency_overrides[get_session] = lambda: session
    # Linkage runs, executed after the response, work in the test's transaction too.
    app.state.hub.linkage.sessions = lambda: nullcontext(session)
    with TestClient(app, raise_server_exceptions=True) as client:
        yield Api(client, session, settings, log, operators)


@pytest.fixture
def scenario(api: Api) -> dict[str, int]:
    api.register(*AGENCIES)
    upload(api, "DCFS", [A, D], {A: ("cm-0001", {}), D: ("cm-0001", {})})
    upload(
        api,
        "DOC",
        [B, E],
        {
            B: (
                "cm-0007",
                {
                    "display_name": "Officer Reyes",
                    "phone": "(555) 010-0007",
                    "email": "reyes@doc.example.gov",
                },
            ),
            E: ("cm-0008", {"display_name": "Officer Lam"}),
        },
    )
    upload(
        api,
        "DWD",
        [C],
        {C: ("cm-0009", {"display_name": "Coach Patel", "email": "patel@dwd.example.gov"})},
    )
    milestones(
        api,
        "DCFS",
        [
            {
                "ref": A,
                "milestone_id": "m1",
                "goal": "Stable housing",
                "milestone": "Lease signed",
                "service_kind": "housing",
                "status": "in_progress",
                "target_end": days_from_today(20),
            },
        ],
    )
    milestones(
        api,
        "DOC",
        [
            {
                "ref": B,
                "milestone_id": "p1",
                "goal": "Complete supervision",
                "milestone": "Report to officer",
                "service_kind": "probation",
                "status": "in_progress",
                "target_end": days_from_today(25),
            },
            {
                "ref": B,
                "milestone_id": "p2",
                "goal": "Work",
                "milestone": "Job readiness class",
                "service_kind": "job_training",
                "status": "not_started",
                "target_start": days_from_today(5),
                "target_end": days_from_today(60),
            },
        ],
    )
    milestones(
        api,
        "DWD",
        [
            {
                "ref": C,
                "milestone_id": "w1",
                "goal": "Work",
                "milestone": "Job readiness workshop",
                "service_kind": "job_training",
                "status": "in_progress",
                "target_start": days_from_today(10),
                "target_end": days_from_today(40),
            },
        ],
    )
    run_id = succeeded_run(api)
    link(api, run_id, 1, [("DCFS", A, "DOC", B, 0.93, False), ("DCFS", A, "DWD", C, 0.88, False)])
    link(api, run_id, 2, [("DCFS", D, "DOC", E, 0.76, True)])
    grants = {
        "doc": grant(
            api,
            "DOC",
            subject=B,
            disclosing_program="corrections",
            recipient_programs=["child_welfare"],
            data_classes=["existence", "contact", "plan"],
        ),
        "dwd": grant(
            api,
            "DWD",
            subject=C,
            disclosing_program="family_employment",
            recipient_programs=["child_welfare"],
            data_classes=["existence", "contact"],
        ),
    }
    api.checkpoint()
    return grants
