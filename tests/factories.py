"""Builders for test objects. Each call makes fresh ones; nothing is shared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from keys import AgencyIdentity, KeyRegistry

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PROGRAMS = {
    "DCFS": "child_welfare",
    "DJJ": "juvenile_justice",
    "DWD": "family_employment",
    "DVR": "vocational_rehab",
    "DOC": "corrections",
}


def agencies(
    *names: str, registered_at: datetime = T0 - timedelta(days=30)
) -> tuple[dict[str, AgencyIdentity], KeyRegistry]:
    """Fresh identities for `names` (default: the five demo agencies) and a registry
    holding them, registered at `registered_at`."""
    chosen = names or tuple(PROGRAMS)
    registry = KeyRegistry()
    identities = {}
    for name in chosen:
        identity = AgencyIdentity.create(
            name, (PROGRAMS.get(name, name.lower()),), now=registered_at
        )
        registry.register(identity.public_keys(), registered_at)
        identities[name] = identity
    return identities, registry
