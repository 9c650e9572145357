"""The node's page roles and where each starts."""

from __future__ import annotations

# The roles the state's sign-in can give here; someone with several gets the first.
NODE_ROLES = ("supervisor", "case_manager", "intake")


def start_page(role: str) -> str:
    """The first page after sign-in: intake staff look people up, supervisors see their
    team, case managers their caseload."""
    return {"intake": "/intake", "supervisor": "/team"}.get(role, "/caseload")
