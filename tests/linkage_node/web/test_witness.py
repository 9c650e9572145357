"""The node as a witness: a rolled-back, truncated or forked ledger, and a lying proxy
between the node and the hub, never make a page say "Consent verified"."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from consent import parse_leaf
from hub.services.ledger import stored_leaf
from keys import canonical
from linkage_node.witness import WITNESS_FILE
from tests.hub.api.factories import Api, revoke
from tests.linkage_node.web.conftest import Node, make_node


def _restore_ledger_to(api: Api, size: int) -> None:
    """What restoring the hub's database from an older backup (or truncating it) does
    to the ledger, followed by a restart of the hub."""
    conn = api.session.connection()
    if conn.dialect.name == "postgresql":
        for table in ("ledger_entry", "ledger_checkpoint"):
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    else:
        for name in ("entry", "checkpoint"):
            for verb in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS ledger_{name}_no_{verb}"))
    conn.execute(text("DELETE FROM ledger_cosignature WHERE size > :n"), {"n": size})
    conn.execute(text("DELETE FROM ledger_entry WHERE entry_index >= :n"), {"n": size})
    conn.execute(text("DELETE FROM ledger_checkpoint WHERE size > :n"), {"n": size})
    conn.execute(text("UPDATE ledger_head SET size = :n"), {"n": size})
    ledger = api.hub.ledger
    assert ledger is not None
    ledger._reset()  # the hub restarts: its memory is rebuilt from the database


def _officer_shown(page: str) -> bool:
    return "Officer Reyes" in page


def test_a_ledger_rolled_back_to_before_a_revocation_is_refused(
    api: Api, node: Node, scenario: dict[str, int]
) -> None:
    client = node.sign_in()
    first = client.get("/clients/DCFS-0001").text
    assert "Consent verified" in first
    assert _officer_shown(first)
    revocation = revoke(api, "DOC", scenario["doc"])
    api.checkpoint()  # the hub's schedule signs the tree with the REVOKE in it
    after = client.get("/clients/DCFS-0001").text
    assert not _officer_shown(after)
    assert client.get("/caseload").status_code == 200  # the node witnesses the new tree

    _restore_ledger_to(api, revocation)  # back to before the REVOKE
    page = client.get("/clients/DCFS-0001")
    assert page.status_code == 503
    assert "Consent ledger alarm" in page.text
    assert "went back to an older state" in page.text
    assert not _officer_shown(page.text)
    assert "Consent verified" not in page.text
    assert client.get("/caseload").status_code == 503

    # The hub goes on appending and signs a tree larger than the one the node
    # witnessed: a second history, still refused.
    api.register("DJJ", "DVR", "A1", "A2")
    assert api.checkpoint() is not None
    forked = client.get("/clients/DCFS-0001")
    assert forked.status_code == 503
    assert "different history" in forked.text
    assert not _officer_shown(forked.text)
    kinds = _alarm_kinds(node)
    assert "rollback" in kinds
    assert "fork" in kinds
    # ... and the node's metrics say so, for whoever watches them.
    metrics = node.client.get("/metrics").text
    assert 'pprl_node_witness_alarms_total{kind="rollback"} ' in metrics
    assert 'pprl_node_witness_alarms_total{kind="rollback"} 0' not in metrics


def _alarm_kinds(node: Node) -> set[str]:
    import sqlite3

    app = node.client.app
    state_dir: Path = app.state.node.settings.state_path.parent  # type: ignore[attr-defined]
    with sqlite3.connect(state_dir / WITNESS_FILE) as db:
        return {row[0] for row in db.execute("SELECT kind FROM alarm")}


def _proxy(api: Api, rewrite: Callable[[dict[str, Any]], dict[str, Any]]) -> httpx.Client:
    """A client to the hub through a proxy that rewrites answers about clients."""

    def handle(request: httpx.Request) -> httpx.Response:
        forwarded = api.client.request(
            request.method,
            request.url.raw_path.decode(),
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            content=request.content,
        )
        if request.url.path.endswith("/shared") and forwarded.status_code == 200:
            return httpx.Response(200, json=rewrite(forwarded.json()))
        return httpx.Response(
            forwarded.status_code, headers=forwarded.headers, content=forwarded.content
        )

    return httpx.Client(base_url="http://testserver", transport=httpx.MockTransport(handle))


def _cite(body: dict[str, Any], api: Api, index: int) -> dict[str, Any]:
    """Make corrections' contact level cite entry `index`, with a genuine inclusion proof."""
    ledger = api.hub.ledger
    assert ledger is not None
    size = len(ledger.tree)
    note = ledger.issue_checkpoint(api.session) or body["checkpoint"]
    size = int(note.split("\n")[1])
    for program in body["programs"]:
        if program["program"] == "corrections":
            program["contact"]["grant"] = {
                "index": index,
                "leaf_hash": ledger.tree.leaf_hash_at(index).hex(),
                "leaf": canonical.b64encode(stored_leaf(api.session, index)),
                "inclusion_proof": [h.hex() for h in ledger.tree.inclusion_proof(index, size)],
            }
    body["checkpoint"] = note
    return body


def test_a_lying_proxy_citing_a_key_registration_is_not_verified(
    api: Api, scenario: dict[str, int], tmp_path: Path
) -> None:
    node = make_node(api, tmp_path, _proxy(api, lambda body: _cite(body, api, 0)))
    page = node.sign_in().get("/clients/DCFS-0001").text
    assert parse_leaf(stored_leaf(api.session, 0)).entry.type == "KEY"
    assert "Consent verified" not in page
    assert "Consent not verified" in page
    assert "not a grant this agency was shown" in page


def test_a_lying_proxy_replaying_an_answer_from_before_a_revocation_is_not_verified(
    api: Api, scenario: dict[str, int], tmp_path: Path
) -> None:
    captured: list[dict[str, Any]] = []

    def replay(body: dict[str, Any]) -> dict[str, Any]:
        if not captured:
            captured.append(json.loads(json.dumps(body)))
        again: dict[str, Any] = json.loads(json.dumps(captured[0]))
        return again

    node = make_node(api, tmp_path, _proxy(api, replay))
    client = node.sign_in()
    assert "Consent verified" in client.get("/clients/DCFS-0001").text
    revoke(api, "DOC", scenario["doc"])
    api.checkpoint()
    assert client.get("/caseload").status_code == 200  # the node witnesses the REVOKE
    page = client.get("/clients/DCFS-0001").text
    assert _officer_shown(page)  # the proxy shows the old answer ...
    assert "Consent verified" not in page  # ... but the node does not vouch for it
    assert "consent to corrections was revoked" in page
