"""Who is calling, and what they may touch. Every authorization decision is one of the
functions here; routes call them and never decide for themselves.

Anything the caller may not see answers exactly like something that does not exist
(`NotFound`), so probing another agency's records or another case manager's clients
reveals nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from hub.context import HubContext
from hub.errors import Forbidden, NotFound, Unauthorized
from hub.services.registry import DatabaseKeyLookup
from keys import Role, TokenRejected, TokenVerifier, canonical

log = logging.getLogger("pprl.hub.auth")
REJECTED = (
    "the bearer token was not accepted (expired, revoked, or not issued for this hub): "
    "sign in again or get a new token"
)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    issuer: str
    subject: str
    roles: frozenset[Role]
    agency_id: str | None  # set for agency-issued tokens

    def has(self, *roles: Role) -> bool:
        """True if the caller holds any of `roles`."""
        return bool(self.roles & set(roles))


def authenticate(hub: HubContext, session: Session, authorization: str | None) -> Principal:
    """Verify the bearer token; raises Unauthorized naming the rule it broke."""
    if not authorization:
        raise Unauthorized("a bearer token is required")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("use the Bearer scheme")
    token = token.strip()
    operators = hub.operator_verifier
    try:
        if operators is not None and _issuer(token) == operators.issuer:
            verified = operators.verify(token)
            return Principal(verified.issuer, verified.subject, verified.roles, None)
        verified = TokenVerifier(DatabaseKeyLookup(session), audience=hub.settings.audience).verify(
            token
        )
    except TokenRejected as exc:
        # One answer for every rejected token: the reason (which agency, which key, when
        # revoked) would tell a prober who is registered. It is logged for operators.
        log.info("token rejected: %s", exc.reason)
        raise Unauthorized(REJECTED) from None
    return Principal(verified.issuer, verified.subject, verified.roles, verified.issuer)


def _issuer(token: str) -> object:
    # Only to choose which verifier to use; the chosen verifier checks everything.
    try:
        payload = canonical.strict_json_loads(canonical.b64url_decode(token.split(".")[1]))
    except (canonical.EncodingError, IndexError):
        return None
    return payload.get("iss") if isinstance(payload, dict) else None


def require_operator(principal: Principal) -> None:
    """Hub operators only (registering agencies, revoking keys)."""
    if not principal.has(Role.HUB_OPERATOR):
        raise Forbidden("only a hub operator may do this")


def require_ledger_reader(principal: Principal) -> None:
    """Ledger entries hold record-level consent: auditors and agency nodes only."""
    if not principal.has(Role.AUDITOR, Role.AGENCY_NODE):
        raise Forbidden("only auditors and agency nodes may read ledger entries")


def authorize_agency_node(principal: Principal, agency_id: str) -> None:
    """The agency's own node, and nobody else, writes for an agency."""
    if principal.agency_id != agency_id or not principal.has(Role.AGENCY_NODE):
        raise NotFound()


def _assigned_or_above(principal: Principal, assigned_to: str | None, chain: Sequence[str]) -> bool:
    """The case manager assigned to the record, or a supervisor above them in the
    agency's chain of command (`chain`: the supervisors above the assigned case manager,
    nearest first). A supervisor may hold a caseload of their own too."""
    if assigned_to is None:
        return False
    if principal.has(Role.CASE_MANAGER, Role.SUPERVISOR) and assigned_to == principal.subject:
        return True
    return principal.has(Role.SUPERVISOR) and principal.subject in chain


def authorize_record(
    principal: Principal,
    agency_id: str,
    exists: bool,
    assigned_to: str | None,
    chain: Sequence[str] = (),
) -> None:
    """A record: its agency's node, the case manager assigned to it, or a supervisor in
    their chain of command.

    A record that does not exist and one the caller may not see get the same answer.
    """
    if principal.agency_id != agency_id or not exists:
        raise NotFound()
    if principal.has(Role.AGENCY_NODE) or _assigned_or_above(principal, assigned_to, chain):
        return
    raise NotFound()


def authorize_client_query(
    principal: Principal, exists: bool, assigned_to: str | None, chain: Sequence[str] = ()
) -> str:
    """ "Is this client shared?": the case manager assigned to the caller's agency's
    record, or a supervisor above them in the chain of command; returns the caller's
    agency.

    Not the agency's node (it asks with the signed-in case manager's token), and never
    anyone else: a record of another agency, one assigned to someone outside the
    caller's team and one that does not exist all get the same answer.
    """
    if principal.agency_id is None or not exists:
        raise NotFound()
    if _assigned_or_above(principal, assigned_to, chain):
        return principal.agency_id
    raise NotFound()


def require_supervisor(principal: Principal) -> str:
    """An agency's supervisor (their team's caseload); returns the agency."""
    if principal.agency_id is None or not principal.has(Role.SUPERVISOR):
        raise Forbidden("only a supervisor has a team")
    return principal.agency_id


def require_case_manager(principal: Principal) -> str:
    """An agency's case manager (their own caseload); returns the agency."""
    if principal.agency_id is None or not principal.has(Role.CASE_MANAGER):
        raise Forbidden("only a case manager has a caseload")
    return principal.agency_id


def require_intake(principal: Principal) -> str:
    """An agency's intake worker (a lookup by typed identifiers); returns the agency."""
    if principal.agency_id is None or not principal.has(Role.INTAKE):
        raise Forbidden("only an agency's intake staff may look a person up")
    return principal.agency_id


def require_aggregate_reader(principal: Principal) -> None:
    """De-identified aggregate reports (overlap, dashboard): hub operators, auditors and
    agency executives."""
    if not principal.has(Role.HUB_OPERATOR, Role.AUDITOR, Role.EXECUTIVE):
        raise Forbidden("only hub operators, auditors and agency executives read reports")


def require_report_reader(principal: Principal) -> None:
    """Aggregate reports: hub operators and auditors."""
    if not principal.has(Role.HUB_OPERATOR, Role.AUDITOR):
        raise Forbidden("only hub operators and auditors read reports")
