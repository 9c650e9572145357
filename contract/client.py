"""`HubClient`: the one way anything outside the hub talks to it, over HTTP only.

The node's sync, its pages and witness, the review commands, `pprl hub run-linkage` and
the demo all use it. It holds one connection pool, asks a token source for each call
(tokens are minted and cached by `CachedToken`), reads answers into the contract's
models, and says plainly what went wrong:

- `HubUnreachable`: nothing answered (a wrong host or port, the network, a hub down);
- `NotAHub`: something answered that is not a pprl hub (a wrong URL or path);
- `HubRefused`: the hub answered with an error, its status and its reason.

Calls that are safe to repeat (GETs, and uploads that carry an idempotency key) are
retried while the hub is unreachable or answers 429/5xx, for `retry_for` seconds, with
exponential backoff and jitter (tenacity), honouring the hub's Retry-After.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import tenacity
from pydantic import BaseModel

from contract.agencies import AgencyOut
from contract.answers import (
    CaseloadOut,
    FirstContactOut,
    NotificationOut,
    NotificationPreferenceOut,
    SharedOut,
)
from contract.errors import HubCallError, HubRefused, HubUnreachable, NotAHub
from contract.family import FamiliesReportOut, FamilyOut
from contract.ledger import CheckpointOut, ConsistencyProofOut, LedgerEntryOut
from contract.linkage import LinkageRunIn, LinkageRunOut
from contract.lookups import LookupOut
from contract.operations import OverlapOut, ReviewItemOut
from contract.org import OrgStructureOut
from contract.responses import checked, read, read_json, read_list, refusal, retry_after
from contract.team import TeamDashboardOut, TeamOut
from contract.uploads import BatchOut, SyncCheckInOut

Model = TypeVar("Model", bound=BaseModel)
Token = Callable[[], str]

_TRANSIENT = frozenset({429, 500, 502, 503, 504})
_BACKOFF = tenacity.wait_exponential_jitter(multiplier=0.5, max=8.0, jitter=0.25)


class _Transient(Exception):
    """A failure a retry may cure, and how long the hub asked us to wait."""

    def __init__(self, failure: HubCallError, retry_after: float | None) -> None:
        super().__init__(str(failure))
        self.failure = failure
        self.retry_after = retry_after


class HubClient:
    """Typed calls to one hub. `token` is the default token source; a call may pass its
    own (a node's pages ask as the signed-in staff member)."""

    def __init__(
        self,
        base_url: str,
        token: Token | None = None,
        *,
        timeout: float = 120.0,  # a 5,000-record batch on a busy hub
        retry_for: float = 0.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        notice: Callable[[str], None] | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # `http`: an HTTP client already made (a test's client of an app in process).
        self._http = http or httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport
        )
        self._token = token
        self._retry_for = retry_for
        self._sleep = sleep
        self._clock = clock
        self._notice = notice

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- the transport ------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        token: Token | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One call as it came back (any status); HubUnreachable when nothing answered."""
        source = token or self._token
        sent = dict(headers or {})
        if source is not None:
            sent["Authorization"] = f"Bearer {source()}"
        try:
            return self._http.request(method, path, json=json, params=params, headers=sent)
        except httpx.TransportError as exc:
            cause = type(exc).__name__
            raise HubUnreachable(
                f"cannot reach the hub at {self.base_url} ({cause})", cause=cause
            ) from None

    def call(
        self,
        method: str,
        path: str,
        answer: type[Model],
        *,
        what: str,
        retry: bool = False,
        **options: Any,
    ) -> Model:
        """A call whose 2xx answer is `answer`; HubRefused naming `what` otherwise."""
        response = self._send(method, path, what=what, retry=retry, **options)
        return read(response, answer, self.base_url)

    def send(self, method: str, path: str, *, what: str, **options: Any) -> Any:
        """A call whose 2xx answer is read as plain JSON (None when it has no body), for
        routes without a model here; HubRefused naming `what` otherwise."""
        response = self._send(method, path, what=what, retry=False, **options)
        return read_json(response, self.base_url) if response.content else None

    def _send(
        self, method: str, path: str, *, what: str, retry: bool, **options: Any
    ) -> httpx.Response:
        if not retry or self._retry_for <= 0:
            return checked(self.request(method, path, **options), what)
        deadline = self._clock() + self._retry_for

        def attempt() -> httpx.Response:
            try:
                response = self.request(method, path, **options)
            except HubUnreachable as exc:
                raise _Transient(exc, None) from None
            if response.status_code in _TRANSIENT:
                raise _Transient(refusal(response, what), retry_after(response))
            return checked(response, what)

        def wait(state: tenacity.RetryCallState) -> float:
            failure = state.outcome.exception() if state.outcome else None
            asked = failure.retry_after if isinstance(failure, _Transient) else None
            return min(asked or _BACKOFF(state), max(deadline - self._clock(), 0.0))

        def announce(state: tenacity.RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome else None
            if self._notice is not None and isinstance(failure, _Transient):
                left = deadline - self._clock()
                pause = state.next_action.sleep if state.next_action else 0.0
                self._notice(
                    f"{failure.failure}; trying {what} again in {pause:.1f} s "
                    f"(giving up in {left:.0f} s)"
                )

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Transient),
            stop=lambda _: self._clock() >= deadline,
            wait=wait,
            sleep=self._sleep,
            before_sleep=announce,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Transient as exc:
            raise exc.failure from None

    # --- uploads ------------------------------------------------------------------------

    def post_batch(self, path: str, body: dict[str, Any], key: str) -> BatchOut:
        """POST one upload batch under its idempotency key, retried while the hub is
        away: a batch the hub already applied is answered as a replay."""
        try:
            return self.call(
                "POST",
                path,
                BatchOut,
                what=f"batch {key}",
                retry=True,
                json=body,
                headers={"Idempotency-Key": key},
            )
        except HubRefused as refused:
            refused.fix = refused.fix or (
                "Fix what the hub names, then run the same command again: batches already "
                "applied are not sent twice."
            )
            raise

    def put_org_structure(self, agency: str, staff: list[dict[str, Any]]) -> OrgStructureOut:
        """Replace the agency's org structure at the hub (retried: it is idempotent)."""
        return self.call(
            "PUT",
            f"/v1/agencies/{agency}/staff",
            OrgStructureOut,
            what="the org structure",
            retry=True,
            json={"staff": staff},
        )

    def sync_check_in(self, agency: str, runs: int, batches: int) -> SyncCheckInOut:
        """Tell the hub the node finished a sync (retried: it is idempotent)."""
        return self.call(
            "PUT",
            f"/v1/agencies/{agency}/sync-check-in",
            SyncCheckInOut,
            what="the sync check-in",
            retry=True,
            json={"runs": runs, "batches": batches},
        )

    # --- what case managers are told ----------------------------------------------------

    def first_contact(
        self, ref: str, program: str, *, token: Token | None = None
    ) -> FirstContactOut:
        """Say that the caller reached `program`'s case manager about their record `ref`."""
        return self.call(
            "POST",
            f"/v1/clients/{ref}/contacts",
            FirstContactOut,
            what="the contact",
            json={"program": program},
            token=token,
        )

    def shared(self, ref: str, *, token: Token | None = None) -> SharedOut:
        """Is this client shared? (the caller's own record `ref`)."""
        return self.call(
            "GET", f"/v1/clients/{ref}/shared", SharedOut, what="the answer", token=token
        )

    def family(self, ref: str, *, token: Token | None = None) -> FamilyOut:
        """Which other programs serve the members of this client's household?"""
        return self.call(
            "GET", f"/v1/clients/{ref}/family", FamilyOut, what="the family", token=token
        )

    def lookup(
        self, clk: bytes, epoch: str, schema_fingerprint: str, *, token: Token | None = None
    ) -> LookupOut:
        """Which other programs serve a person matching this intake encoding?"""
        body = {
            "clk": base64.b64encode(clk).decode("ascii"),
            "epoch": epoch,
            "schema_fingerprint": schema_fingerprint,
        }
        return self.call(
            "POST", "/v1/lookups", LookupOut, what="the lookup", json=body, token=token
        )

    def caseload(self, *, token: Token | None = None) -> CaseloadOut:
        """The caller's caseload."""
        return self.call("GET", "/v1/caseload", CaseloadOut, what="the caseload", token=token)

    def team(
        self,
        *,
        case_manager: str | None = None,
        office: str | None = None,
        token: Token | None = None,
    ) -> TeamOut:
        """A supervisor's team caseload, optionally one case manager's or office's."""
        query = {k: v for k, v in (("case_manager", case_manager), ("office", office)) if v}
        return self.call(
            "GET", "/v1/team", TeamOut, what="the team caseload", params=query, token=token
        )

    def team_dashboard(self, *, token: Token | None = None) -> TeamDashboardOut:
        """De-identified counts about a supervisor's own team."""
        return self.call(
            "GET", "/v1/team/dashboard", TeamDashboardOut, what="the team dashboard", token=token
        )

    def notifications(self, *, token: Token | None = None) -> list[NotificationOut]:
        """The caller's notifications, newest first."""
        response = self._send(
            "GET", "/v1/notifications", what="notifications", retry=False, token=token
        )
        return read_list(response, NotificationOut, self.base_url)

    def notification_preferences(
        self, changes: dict[str, str] | None = None, *, token: Token | None = None
    ) -> list[NotificationPreferenceOut]:
        """The caller's notification preferences, after `changes` (kind -> delivery)."""
        if changes is None:
            response = self._send(
                "GET", "/v1/notifications/preferences", what="preferences", retry=False, token=token
            )
        else:
            response = self._send(
                "PUT",
                "/v1/notifications/preferences",
                what="preferences",
                retry=False,
                token=token,
                json={"preferences": changes},
            )
        return read_list(response, NotificationPreferenceOut, self.base_url)

    def mark_read(self, notification_id: int, *, token: Token | None = None) -> bool:
        """Mark one of the caller's notifications read; False when the hub knows no such
        notification of theirs (already gone, or never theirs)."""
        response = self.request("POST", f"/v1/notifications/{notification_id}/read", token=token)
        if response.status_code == 404:
            return False
        checked(response, "the notification")
        return True

    # --- stewards -----------------------------------------------------------------------

    def review_queue(self, agency: str) -> list[ReviewItemOut]:
        """The links in the review band that involve `agency`'s records."""
        response = self._send(
            "GET", f"/v1/agencies/{agency}/review", what="the review queue", retry=True
        )
        return read_list(response, ReviewItemOut, self.base_url)

    def answer_review(self, agency: str, item_id: str, answer: str) -> ReviewItemOut:
        """Record `agency`'s answer (same, different, unsure) to one review item."""
        return self.call(
            "POST",
            f"/v1/agencies/{agency}/review/{item_id}",
            ReviewItemOut,
            what=f"the answer to {item_id}",
            json={"answer": answer},
        )

    # --- operators ----------------------------------------------------------------------

    def register_agency(self, public: dict[str, Any]) -> AgencyOut:
        """Register an agency from its public keys (`agency.json`)."""
        return self.call("POST", "/v1/agencies", AgencyOut, what="the registration", json=public)

    def overlap(self) -> OverlapOut:
        """Clients shared between programs, small cells suppressed."""
        return self.call(
            "GET", "/v1/reports/overlap", OverlapOut, what="the overlap report", retry=True
        )

    def families_report(self) -> FamiliesReportOut:
        """Families known to several programs, small cells suppressed."""
        return self.call(
            "GET",
            "/v1/reports/families",
            FamiliesReportOut,
            what="the families report",
            retry=True,
        )

    def start_linkage(self, request: LinkageRunIn) -> LinkageRunOut:
        """Queue a linkage run."""
        return self.call(
            "POST",
            "/v1/linkage/runs",
            LinkageRunOut,
            what="a linkage run",
            json=request.model_dump(mode="json", exclude_none=True),
        )

    def wait_for_run(
        self,
        run_id: int,
        *,
        timeout: float,
        poll: float = 0.5,
        progress: Callable[[LinkageRunOut], None] | None = None,
    ) -> LinkageRunOut:
        """Poll a run until it succeeds or fails (the run as it ended), or `timeout`
        seconds pass (HubCallError, the run goes on at the hub)."""
        deadline = self._clock() + timeout
        while True:
            run = self.linkage_run(run_id)
            if run.status in ("succeeded", "failed"):
                return run
            if progress is not None:
                progress(run)
            if self._clock() >= deadline:
                raise HubCallError(
                    f"run {run_id} did not finish within {timeout:.0f} s (it is {run.stage})",
                    f"It goes on at the hub; check it with GET /v1/linkage/runs/{run_id}.",
                )
            self._sleep(poll)

    def linkage_run(self, run_id: int) -> LinkageRunOut:
        """One linkage run as it stands."""
        return self.call(
            "GET", f"/v1/linkage/runs/{run_id}", LinkageRunOut, what=f"run {run_id}", retry=True
        )

    # --- the ledger ---------------------------------------------------------------------

    def checkpoint(self) -> CheckpointOut | None:
        """The newest signed checkpoint (None before the first)."""
        response = self.request("GET", "/v1/ledger/checkpoint")
        if response.status_code == 404:
            return None
        return read(checked(response, "its checkpoint"), CheckpointOut, self.base_url)

    def consistency(self, first: int, second: int) -> ConsistencyProofOut | None:
        """The consistency proof between two sizes (None: the hub has no such tree)."""
        response = self.request(
            "GET", "/v1/ledger/proofs/consistency", params={"first": first, "second": second}
        )
        if response.status_code == 404:
            return None
        return read(checked(response, "a consistency proof"), ConsistencyProofOut, self.base_url)

    def ledger_entries(self, start: int, limit: int) -> list[dict[str, Any]]:
        """Entries from `start` as the caller may read them (each as the hub states it)."""
        response = checked(
            self.request("GET", "/v1/ledger/entries", params={"start": start, "limit": limit}),
            "ledger entries",
        )
        page = read_json(response, self.base_url)
        if not isinstance(page, list):
            raise NotAHub(f"{self.base_url} answered ledger entries with something else")
        return page

    def append(self, leaf_b64: str) -> LedgerEntryOut:
        """Append an entry the caller signed (HubRefused 409/422 says why not)."""
        return self.call(
            "POST", "/v1/ledger/entries", LedgerEntryOut, what="the entry", json={"leaf": leaf_b64}
        )

    def cosign(self, size: int, line: str) -> None:
        """Hand the hub a witness cosignature on the checkpoint of `size`."""
        self._send(
            "POST",
            f"/v1/ledger/checkpoints/{size}/cosignatures",
            what="the cosignature",
            retry=False,
            json={"cosignature": line},
        )

    def programs(self) -> dict[str, str]:
        """Every program registered at the hub and the agency that runs it."""
        response = checked(self.request("GET", "/v1/agencies"), "its list of agencies")
        agencies = read_json(response, self.base_url)
        try:
            return {p: a["agency_id"] for a in agencies for p in a["programs"]}
        except (TypeError, KeyError):
            raise NotAHub(
                f"{self.base_url} answered its list of agencies with something else"
            ) from None
