"""The node's sign-in: throttled after repeated failures, at most two password checks at
once, logged without passwords, and sessions that end when sign-out, a password reset,
a disable or a removal says so."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from linkage_node.job import STATE_FILE
from linkage_node.state import NodeState
from linkage_node.web import hash_password
from linkage_node.web.logs import configure_logging
from linkage_node.web.sign_in_guard import BoundedHashing, SignInThrottle, log_attempt
from pprl.cli import app as pprl_app
from tests.linkage_node.web.conftest import PASSWORD, Node


def _attempt(node: Node, password: str, username: str = "mlopez") -> Any:
    form = node.client.get("/sign-in")
    token = form.text.split('name="csrf" value="')[1].split('"')[0]
    return node.client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf": token},
        follow_redirects=False,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_thirty_wrong_passwords_then_the_right_one_is_still_refused(node: Node) -> None:
    clock = Clock()
    app: Any = node.client.app
    app.state.node.throttle = SignInThrottle(clock=clock)
    answers = [_attempt(node, f"wrong guess {i:02d}").status_code for i in range(30)]
    assert answers[:5] == [401] * 5
    assert 429 in answers[5:]
    refused = _attempt(node, PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Too many failed attempts" in refused.text
    clock.now += 15 * 60 + 1  # the longest wait has passed
    assert _attempt(node, PASSWORD).status_code == 303


def test_waits_grow_after_five_failures_and_a_success_clears_them() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock=clock)
    for _ in range(5):
        assert throttle.wait("mlopez", "10.0.0.1") == 0
        throttle.failed("mlopez", "10.0.0.1")
    assert throttle.wait("MLopez", "10.0.0.9") == 1.0  # the username, any case or address
    clock.now += 1
    throttle.failed("mlopez", "10.0.0.1")
    assert throttle.wait("mlopez", "10.0.0.1") == 2.0
    throttle.succeeded("mlopez")
    assert throttle.wait("mlopez", "10.0.0.2") == 0


def test_no_more_than_two_password_checks_run_at_once() -> None:
    hashing = BoundedHashing(limit=2, patience=5)
    running, most, lock = [0], [0], threading.Lock()

    def check() -> bool:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return True

    threads = [threading.Thread(target=hashing.run, args=(check,)) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 2
    busy = BoundedHashing(limit=1, patience=0.01)
    hold = threading.Event()
    blocker = threading.Thread(target=busy.run, args=(lambda: hold.wait(5),))
    blocker.start()
    time.sleep(0.05)
    assert busy.run(lambda: True) is None  # "busy", not a queue that grows without bound
    hold.set()
    blocker.join()


def test_attempts_are_logged_without_passwords_or_plain_usernames(
    node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="pprl.node.sign_in"):
        _attempt(node, "hunter2-is-not-it", username="mlopez")
        _attempt(node, PASSWORD)
    records = [r for r in caplog.records if r.name == "pprl.node.sign_in"]
    events = [getattr(r, "event", None) for r in records]
    assert events == ["sign_in.failure", "sign_in.success"]
    assert getattr(records[1], "staff_id", None) == "cm-0001"
    text = " ".join(f"{r.getMessage()} {r.__dict__}" for r in records)
    assert "hunter2" not in text
    assert PASSWORD not in text
    assert "'mlopez'" not in text


def _state(tmp_path: Path) -> NodeState:
    return NodeState(tmp_path / "node" / STATE_FILE, "DCFS")


@pytest.mark.parametrize("ending", ["sign-out", "password reset", "reassigned", "disabled"])
def test_an_old_cookie_stops_working_when_its_session_is_ended(
    node: Node, tmp_path: Path, ending: str
) -> None:
    client = node.sign_in()
    assert client.get("/caseload", follow_redirects=False).status_code == 200
    stolen = dict(client.cookies)
    if ending == "sign-out":
        page = client.get("/caseload")
        token = page.text.split('name="csrf" value="')[1].split('"')[0]
        client.post("/sign-out", data={"csrf": token}, follow_redirects=False)
    else:
        state = _state(tmp_path)
        try:
            if ending == "password reset":
                state.accounts.save(
                    "mlopez", "cm-0001", "case_manager", hash_password("a brand new passphrase")
                )
            elif ending == "reassigned":
                state.accounts.save(
                    "mlopez", "cm-0002", "case_manager", hash_password("the next person's phrase")
                )
            else:
                state.accounts.disable("mlopez")
        finally:
            state.close()
    client.cookies.clear()
    for name, value in stolen.items():
        client.cookies.set(name, value)
    again = client.get("/caseload", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == "/sign-in?next=%2Fcaseload"


def test_stewards_list_disable_and_remove_accounts(node: Node, tmp_path: Path) -> None:
    runner = CliRunner()
    where = ["--agency", "DCFS", "--state-dir", str(tmp_path / "node")]
    listed = runner.invoke(pprl_app, ["node", "list-users", *where, "--json"])
    assert listed.exit_code == 0, listed.output
    assert [a["username"] for a in json.loads(listed.stdout)] == ["ilee", "jkim", "mlopez"]
    assert (
        runner.invoke(pprl_app, ["node", "disable-user", *where, "--username", "mlopez"]).exit_code
        == 0
    )
    assert _attempt(node, PASSWORD).status_code == 401  # a disabled account cannot sign in
    assert (
        runner.invoke(pprl_app, ["node", "remove-user", *where, "--username", "jkim"]).exit_code
        == 0
    )
    after = json.loads(runner.invoke(pprl_app, ["node", "list-users", *where, "--json"]).stdout)
    assert after == [
        {"username": "ilee", "staff_id": "in-0003", "role": "intake", "disabled": False},
        {"username": "mlopez", "staff_id": "cm-0001", "role": "case_manager", "disabled": True},
    ]
    missing = runner.invoke(pprl_app, ["node", "remove-user", *where, "--username", "nobody"])
    assert missing.exit_code == 1
    assert "list-users" in missing.output


def test_the_node_server_logs_one_json_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("pprl")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    try:
        configure_logging()
        log_attempt("failure", "mlopez", "10.0.0.1", b"k" * 32)
        line = capsys.readouterr().err.strip().splitlines()[-1]
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    doc = json.loads(line)
    assert doc["event"] == "sign_in.failure"
    assert doc["level"] == "WARNING"
    assert doc["client"] == "10.0.0.1"
    assert "mlopez" not in line


def test_an_expired_session_says_so_and_the_sign_in_returns_to_the_page(node: Node) -> None:
    signer = node.client.app.state.node.signer  # type: ignore[attr-defined]
    lifetime, signer.lifetime = signer.lifetime, -1  # a session that has already ended
    node.sign_in()
    signer.lifetime = lifetime
    asked = node.client.get("/clients/DCFS-0001?tab=plan", follow_redirects=False)
    assert asked.headers["location"] == "/sign-in?next=%2Fclients%2FDCFS-0001%3Ftab%3Dplan"
    form = node.client.get(asked.headers["location"])
    assert "Your session expired (sessions last 8 hours)" in form.text
    assert '<input type="hidden" name="next" value="/clients/DCFS-0001?tab=plan">' in form.text
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    back = node.client.post(
        "/sign-in",
        data={
            "username": "mlopez",
            "password": PASSWORD,
            "csrf": csrf,
            "next": "/clients/DCFS-0001?tab=plan",
        },
        follow_redirects=False,
    )
    assert back.headers["location"] == "/clients/DCFS-0001?tab=plan"
    assert node.client.get("/clients/DCFS-0001").status_code == 200
    # A way back off the node is ignored: the role's start page instead.
    node.client.cookies.clear()
    form = node.client.get("/sign-in")
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    elsewhere = node.client.post(
        "/sign-in",
        data={"username": "mlopez", "password": PASSWORD, "csrf": csrf, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == "/caseload"
