"""Where each role starts."""

from __future__ import annotations


def start_page(role: str) -> str:
    """The first page after sign-in: intake staff look people up, supervisors see their
    team, case managers their caseload."""
    return {"intake": "/intake", "supervisor": "/team"}.get(role, "/caseload")
