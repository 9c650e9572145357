"""`pprl hub notify`: one delivery pass from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from hub.crypto import DataCipher, contact_context
from hub.db import create_db_engine
from hub.migrate import upgrade
from hub.models import Agency, Assignment, Notification
from tests.hub.api.factories import Inbox
from tests.processes import clean_env

pytestmark = pytest.mark.e2e


def _pprl(tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = clean_env()
    return subprocess.run(  # noqa: S603  (our own entry point)
        [str(Path(sys.executable).parent / "pprl"), "hub", "notify"],
        env={
            **base,
            "PPRL_DATABASE_URL": f"sqlite:///{tmp / 'hub.db'}",
            "PPRL_DATA_KEY_FILE": str(tmp / "data.key"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_notify_delivers_once_and_refuses_without_a_server(
    tmp_path: Path,
    inbox: tuple[Inbox, int],
) -> None:
    handler, port = inbox
    (tmp_path / "data.key").write_bytes(os.urandom(32))
    (tmp_path / "data.key").chmod(0o600)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    upgrade(engine)
    cipher = DataCipher.from_file(tmp_path / "data.key")
    now = datetime.now(UTC)
    ref = "ab" * 32
    with Session(engine) as session:
        session.add(Agency(agency_id="DCFS", registered_at=now))
        session.flush()
        contact = cipher.seal(
            json.dumps({"email": "cm1@dcfs.example.gov"}).encode(), contact_context("DCFS", ref)
        )
        session.add(
            Assignment(
                agency_id="DCFS",
                ref=ref,
                case_manager_id="cm-0001",
                updated_at=now,
                contact=contact,
            )
        )
        session.add(
            Notification(
                agency_id="DCFS",
                case_manager_id="cm-0001",
                kind="matches_changed",
                run_id=1,
                clients=1,
                created_at=now,
                email_status="pending",
                email_attempts=0,
                next_attempt_at=now,
            )
        )
        session.add(
            Notification(
                agency_id="DCFS",
                case_manager_id="cm-0001",
                kind="consent_revoked",
                ledger_index=7,
                clients=1,
                created_at=now,
                email_status="pending",
                email_attempts=0,
                next_attempt_at=now,
            )
        )
        session.commit()
    engine.dispose()

    refused = _pprl(tmp_path)
    assert refused.returncode == 1
    assert "PPRL_SMTP_HOST" in refused.stderr
    sent = _pprl(tmp_path, PPRL_SMTP_HOST="127.0.0.1", PPRL_SMTP_PORT=str(port))
    assert sent.returncode == 0, sent.stderr
    assert "2 sent" in sent.stderr
    again = _pprl(tmp_path, PPRL_SMTP_HOST="127.0.0.1", PPRL_SMTP_PORT=str(port))
    assert "nothing due" in again.stderr
    assert len(handler.messages) == 2
    # A withdrawn consent is mailed as such, and like every message names no client.
    subjects = sorted(m.split(b"Subject: ")[1].split(b"\n")[0].strip() for _, m in handler.messages)
    assert subjects == [
        b"pprl-hub: consent revoked for a client on your caseload",
        b"pprl-hub: matches changed on your caseload",
    ]
    assert not any(ref.encode() in m for _, m in handler.messages)
