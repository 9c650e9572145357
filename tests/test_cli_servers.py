"""`pprl hub serve` and `pprl node serve` as an operator starts them: each says where it
listens, and the node takes its key's passphrase from a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.processes import PPRL, clean_env, free_port, pprl, running, start, stop, wait_ready

pytestmark = pytest.mark.e2e


def test_the_servers_say_where_they_listen_and_take_a_passphrase_file(tmp_path: Path) -> None:
    env = {"PPRL_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}"}
    assert pprl("hub", "migrate", cwd=tmp_path, env=env).returncode == 0
    hub_port = free_port()
    hub_log, node_log = tmp_path / "hub.log", tmp_path / "node.log"
    with running(
        [PPRL, "hub", "serve", "--port", str(hub_port)],
        cwd=tmp_path,
        env={**clean_env(), **env},
        ready=f"http://127.0.0.1:{hub_port}/healthz",
        log=hub_log,
    ):
        assert f"listening on http://127.0.0.1:{hub_port}" in hub_log.read_text()
        (tmp_path / "passphrase").write_text("a long enough passphrase\n", encoding="utf-8")
        made = pprl(
            "keys",
            "init-agency",
            "--agency",
            "DCFS",
            "--programs",
            "child_welfare",
            "--key-dir",
            "keys",
            "--passphrase-file",
            "passphrase",
            cwd=tmp_path,
        )
        assert made.returncode == 0, made.stderr
        node_port = free_port()
        node = start(
            [
                PPRL,
                "node",
                "serve",
                "--agency",
                "DCFS",
                "--key-dir",
                "keys",
                "--passphrase-file",
                "passphrase",
                "--hub",
                f"http://127.0.0.1:{hub_port}",
                "--port",
                str(node_port),
            ],
            cwd=tmp_path,
            env=clean_env(),
            log=node_log,
        )
        try:
            ready = wait_ready(f"http://127.0.0.1:{node_port}/readyz", process=node, log=node_log)
            assert ready.json()["hub"] == "ok"
        finally:
            stop(node)
