"""FastAPI dependencies: the hub context, a database session, the caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from hub.auth import Principal, authenticate
from hub.context import HubContext
from hub.db import begin_writer


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
