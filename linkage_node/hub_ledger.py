"""The hub's ledger routes as a node's witness uses them, with the agency node's token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from keys import canonical
from linkage_node.errors import NodeError


class HubUnreachable(NodeError):
    """The hub did not answer a witness round (network, or not configured for it)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)

    def advice(self) -> str:
        return f"{self}. Check --hub and the network; the node's witness state is unchanged."


class HubLedgerClient:
    """The ledger routes a witness needs, with the agency node's own token."""

    def __init__(self, http: httpx.Client, token: Callable[[], str]) -> None:
        self._http = http
        self._token = token

    def _get(self, path: str, **params: int) -> httpx.Response:
        try:
            return self._http.get(
                path, params=params, headers={"Authorization": f"Bearer {self._token()}"}
            )
        except httpx.TransportError as exc:
            raise HubUnreachable(f"the hub could not be reached ({type(exc).__name__})") from None

    def checkpoint(self) -> str | None:
        """The hub's newest checkpoint note (None before the first)."""
        response = self._get("/v1/ledger/checkpoint")
        if response.status_code == 404:
            return None
        _expect(response, "its checkpoint")
        return str(response.json()["note"])

    def consistency(self, first: int, second: int) -> list[bytes] | None:
        """The consistency proof between two sizes (None: the hub has no such tree)."""
        response = self._get("/v1/ledger/proofs/consistency", first=first, second=second)
        if response.status_code == 404:
            return None
        _expect(response, "a consistency proof")
        return [canonical.b64decode(p) for p in response.json()["proof"]]

    def entries(self, start: int, limit: int) -> list[dict[str, Any]]:
        """Entries from `start` as this agency may read them."""
        response = self._get("/v1/ledger/entries", start=start, limit=limit)
        _expect(response, "ledger entries")
        page: list[dict[str, Any]] = response.json()
        return page

    def programs(self) -> dict[str, str]:
        """Every program registered at the hub now and the agency that runs it (to check
        a form before it is signed; the ledger checks again on append)."""
        response = self._get("/v1/agencies")
        _expect(response, "its list of agencies")
        return {p: a["agency_id"] for a in response.json() for p in a["programs"]}

    def append(self, leaf: bytes) -> tuple[int, str | None]:
        """Append an entry this agency signed: (its index, None), or (-1, why) when the
        hub refused it for what it says (409/422, with the hub's reason)."""
        try:
            response = self._http.post(
                "/v1/ledger/entries",
                json={"leaf": canonical.b64encode(leaf)},
                headers={"Authorization": f"Bearer {self._token()}"},
            )
        except httpx.TransportError as exc:
            raise HubUnreachable(f"the hub could not be reached ({type(exc).__name__})") from None
        if response.status_code in {409, 422}:
            return -1, str(response.json().get("detail", "refused"))
        _expect(response, "the entry a place in the ledger")
        return int(response.json()["index"]), None

    def cosign(self, size: int, line: str) -> None:
        """Hand the hub this node's cosignature on the checkpoint of `size`."""
        try:
            response = self._http.post(
                f"/v1/ledger/checkpoints/{size}/cosignatures",
                json={"cosignature": line},
                headers={"Authorization": f"Bearer {self._token()}"},
            )
        except httpx.TransportError as exc:
            raise HubUnreachable(f"the hub could not be reached ({type(exc).__name__})") from None
        _expect(response, "the cosignature")


def _expect(response: httpx.Response, what: str) -> None:
    if response.status_code >= 300:
        raise HubUnreachable(f"the hub refused to give {what} ({response.status_code})")
