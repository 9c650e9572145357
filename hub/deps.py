"""FastAPI dependencies: what a route needs (a session, the caller, the ledger, the data
key, the disclosure engine), each refused with 503 where this hub lacks it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from hub.auth import Principal, authenticate
from hub.context import HubContext
from hub.crypto import DataCipher
from hub.db import begin_writer
from hub.disclosure import DisclosureEngine
from hub.errors import Unavailable
from hub.services.ledger import HubLedger


def get_hub(request: Request) -> HubContext:
    """The process's hub context."""
    hub: HubContext = request.app.state.hub
    return hub


HubDep = Annotated[HubContext, Depends(get_hub)]


def get_session(hub: HubDep, request: Request) -> Iterator[Session]:
    """A session for this request. Routes commit; anything else is rolled back. Requests
    that change something start as writers (SQLite would otherwise answer two
    read-then-write transactions with "database is locked"); GET routes that record
    something (disclosures) say so themselves."""
    with Session(hub.engine) as session:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            begin_writer(session)
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_writer_session(session: SessionDep) -> Session:
    """The request's session, begun as a writer: for a GET that records something
    (an answer's ACCESS entries), which says so by asking for this."""
    begin_writer(session)
    return session


WriterSessionDep = Annotated[Session, Depends(get_writer_session)]


def get_ledger(hub: HubDep) -> HubLedger:
    """The consent ledger (503 on a hub started without a log key)."""
    if hub.ledger is None:
        raise Unavailable("the hub has no log key configured (PPRL_LOG_KEY_FILE)")
    return hub.ledger


LedgerDep = Annotated[HubLedger, Depends(get_ledger)]


def get_cipher(hub: HubDep) -> DataCipher:
    """The data key (503 on a hub started without one)."""
    if hub.cipher is None:
        raise Unavailable("the hub has no data key configured (PPRL_DATA_KEY_FILE)")
    return hub.cipher


CipherDep = Annotated[DataCipher, Depends(get_cipher)]


def get_disclosure(hub: HubDep, ledger: LedgerDep) -> DisclosureEngine:
    """The disclosure engine over this hub's ledger, data key and policy."""
    return DisclosureEngine(ledger, hub.cipher, hub.settings)


DisclosureDep = Annotated[DisclosureEngine, Depends(get_disclosure)]


_bearer = HTTPBearer(auto_error=False, description="An agency-issued or operator token.")


def get_principal(
    hub: HubDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated caller (401 otherwise)."""
    header = f"Bearer {credentials.credentials}" if credentials else None
    return authenticate(hub, session, header)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
