"""/v1/agencies: the registry of agencies and their public keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from contract import AgencyOut, KeyRequestIn, RecoverAgencyIn, RevokeKeyIn
from hub.auth import require_operator
from hub.deps import LedgerDep, PrincipalDep, SessionDep
from hub.errors import Unprocessable
from hub.services import agencies
from keys import AgencyPublicKeys, canonical

router = APIRouter(prefix="/v1/agencies", tags=["agencies"])
AgencyId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Register an agency (operators)")
def register_agency(
    body: AgencyPublicKeys, ledger: LedgerDep, session: SessionDep, principal: PrincipalDep
) -> AgencyOut:
    """Register an agency from the `agency.json` of `pprl keys init-agency`."""
    require_operator(principal)
    record = agencies.register(session, ledger, AgencyPublicKeys.from_json(body.to_json()))
    session.commit()
    return agencies.to_out(record)


@router.get("", summary="List agencies and their public keys")
def list_agencies(session: SessionDep, principal: PrincipalDep) -> list[AgencyOut]:
    """Public keys are public: any authenticated caller may read them (to seal secrets)."""
    return [agencies.to_out(r) for r in agencies.list_agencies(session)]


@router.get("/{agency_id}", summary="One agency and its public keys")
def get_agency(agency_id: AgencyId, session: SessionDep, principal: PrincipalDep) -> AgencyOut:
    """404 for an unknown agency."""
    return agencies.to_out(agencies.get_agency(session, agency_id))


@router.post(
    "/{agency_id}/keys",
    status_code=status.HTTP_201_CREATED,
    summary="Add keys an agency asked for (operators)",
)
def add_key(
    agency_id: AgencyId,
    body: KeyRequestIn,
    ledger: LedgerDep,
    session: SessionDep,
    principal: PrincipalDep,
) -> AgencyOut:
    """The agency's request (`pprl keys request-key`) carries its approval signed with a
    key it still holds; the operator's call is the second approval. A stolen agency key
    alone can add nothing."""
    require_operator(principal)
    record = agencies.add_key(session, ledger, agency_id, body.request)
    session.commit()
    return agencies.to_out(record)


@router.post("/{agency_id}/recover", summary="Re-key an agency that lost every key (operators)")
def recover_agency(
    agency_id: AgencyId,
    body: RecoverAgencyIn,
    ledger: LedgerDep,
    session: SessionDep,
    principal: PrincipalDep,
) -> AgencyOut:
    """The incident path (README: "A stolen or lost agency key"): only for an agency
    with no live signing key; recorded on the ledger with the incident's id."""
    require_operator(principal)
    try:
        document = canonical.canonical_json(body.public)
    except canonical.EncodingError as exc:
        raise Unprocessable(f"public: {exc}") from None
    public = AgencyPublicKeys.from_json(document, "public")
    record = agencies.recover(session, ledger, agency_id, public, body.incident)
    session.commit()
    return agencies.to_out(record)


@router.post("/{agency_id}/keys/{key_id}/revoke", summary="Revoke an agency key (operators)")
def revoke_key(
    agency_id: AgencyId,
    key_id: Annotated[str, Path(pattern=r"^(ed25519|x25519):[0-9a-f]{32}$")],
    body: RevokeKeyIn,
    ledger: LedgerDep,
    session: SessionDep,
    principal: PrincipalDep,
) -> AgencyOut:
    """Recorded as a hub-signed KEY entry; tokens and entries signed with it stop counting."""
    require_operator(principal)
    record = agencies.revoke_key(session, ledger, agency_id, key_id, body.compromised_since)
    session.commit()
    return agencies.to_out(record)
