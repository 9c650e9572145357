"""Key operations on the hub's hot paths: token verification on every request, and
sealing/unsealing linkage secrets (rare, but it should never be a reason to skip rotation)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table

from keys import (
    AgencyIdentity,
    KeyRegistry,
    Role,
    TokenVerifier,
    issue_token,
    new_linkage_secret,
    seal_linkage_secret,
    unseal_linkage_secret,
)


def _rate(fn: Callable[[], object], seconds: float = 1.0) -> float:
    """Operations per second of `fn`, measured for about `seconds`."""
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            fn()
        count += 50
    return count / elapsed


def run() -> None:
    """Measure and print key-operation rates on one core."""
    now = datetime.now(UTC)
    registry = KeyRegistry()
    ids = {}
    for name in ("DCFS", "DJJ", "DWD", "DVR", "DOC"):
        identity = AgencyIdentity.create(name, (name.lower(),), now=now)
        registry.register(identity.public_keys(), now - timedelta(days=1))
        ids[name] = identity
    token = issue_token(ids["DCFS"], subject="cm-1", audience="pprl-hub", roles=[Role.CASE_MANAGER])
    verifier = TokenVerifier(registry, audience="pprl-hub")
    secret = new_linkage_secret("bench")
    bundle = seal_linkage_secret(secret, ids["DCFS"], registry, list(ids))

    table = Table("operation", "per second (one core)", title="keys")
    rows: list[tuple[str, Callable[[], object]]] = [
        (
            "issue a case-manager token",
            lambda: issue_token(
                ids["DCFS"], subject="cm-1", audience="pprl-hub", roles=[Role.CASE_MANAGER]
            ),
        ),
        ("verify a token (all checks)", lambda: verifier.verify(token)),
        (
            "seal a linkage secret to 5 agencies",
            lambda: seal_linkage_secret(secret, ids["DCFS"], registry, list(ids)),
        ),
        ("unseal one agency's copy", lambda: unseal_linkage_secret(bundle, ids["DOC"], registry)),
    ]
    for label, fn in rows:
        table.add_row(label, f"{_rate(fn):,.0f}")
    Console().print(table)
