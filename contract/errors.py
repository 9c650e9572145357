"""What can go wrong calling the hub, each with advice (`HubClient` raises them)."""

from __future__ import annotations


class HubCallError(Exception):
    """A call to the hub failed: what happened, and what to do about it."""

    exit_code = 1

    def __init__(self, what: str, fix: str = "") -> None:
        super().__init__(what)
        self.fix = fix

    def advice(self) -> str:
        """What the person who sees this should do next."""
        return f"{self}. {self.fix}" if self.fix else str(self)


class HubUnreachable(HubCallError):
    """Nothing answered at the hub's address; `cause` names the network error."""

    def __init__(self, what: str, fix: str = "", *, cause: str = "") -> None:
        self.cause = cause
        super().__init__(
            what,
            fix or "Check --hub (PPRL_HUB_URL) and that the hub is running, then try again.",
        )


class NotAHub(HubCallError):
    """Something answered that is not a pprl hub."""


class HubRefused(HubCallError):
    """The hub answered with an error status."""

    def __init__(self, status: int, detail: str, what: str = "", fix: str = "") -> None:
        super().__init__(what or f"the hub refused: {status} {detail}", fix)
        self.status = status
        self.detail = detail
