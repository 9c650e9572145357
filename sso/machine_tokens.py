"""Access tokens for commands, renewed before they expire, so a long `run-linkage --wait`
outlives any one token.

- `ClientCredentials`: a scheduled job's own client (RFC 6749 section 4.4).
- `DeviceSignIn`: a person at a terminal signs in on their phone or browser (RFC 8628);
  the tokens go to an owner-only file, and `StoredTokens` renews them with the refresh
  token (rotated refresh tokens are written back).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2 import OAuth2Error
from httpx import HTTPError

from keys.files import write_private
from sso.errors import ProviderUnreachable, SignInRejected
from sso.provider import OpenIdProvider

RENEW_BEFORE_SECONDS = 60
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PUBLIC_CLIENT = "none"


def _expiry(token: dict[str, Any], now: float) -> float:
    if isinstance(token.get("expires_in"), int | float):
        return now + float(token["expires_in"])
    if isinstance(token.get("expires_at"), int | float):
        return float(token["expires_at"])
    return now + 300


class _Renewing:
    """A token source: the current access token, fetched again when it is about to
    expire (or is more than half way through a short life)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0
        self._lifetime = 0.0

    def _fetch(self) -> dict[str, Any]:
        raise NotImplementedError

    def __call__(self) -> str:
        with self._lock:
            margin = min(RENEW_BEFORE_SECONDS, self._lifetime / 2)
            now = self._clock()
            if self._token is None or now >= self._expires - margin:
                token = self._fetch()
                access = token.get("access_token")
                if not isinstance(access, str):
                    raise SignInRejected(
                        "the sign-in provider sent no access token", "Tell the operators."
                    )
                self._token, self._expires = access, _expiry(token, now)
                self._lifetime = max(self._expires - now, 0.0)
            return self._token


def _provider_call(what: str, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return dict(call())
    except (OAuth2Error, OAuthError) as exc:
        raise SignInRejected(
            f"the sign-in provider refused {what} ({exc.error})",
            "Check the client id and secret, or sign in again with `pprl hub sign-in`.",
        ) from None
    except (HTTPError, ValueError) as exc:
        raise ProviderUnreachable(
            f"the sign-in provider could not be asked for {what} ({type(exc).__name__})",
            "Try again in a minute.",
        ) from None


class ClientCredentials(_Renewing):
    """Tokens for a job's own client id and secret, for `resource` (the hub's audience)."""

    def __init__(
        self,
        provider: OpenIdProvider,
        client_id: str,
        client_secret: str,
        resource: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(clock)
        self._provider = provider
        self._client = (client_id, client_secret)
        self._resource = resource

    def _fetch(self) -> dict[str, Any]:
        endpoint = self._provider.metadata()["token_endpoint"]

        def call() -> dict[str, Any]:
            with OAuth2Client(*self._client, timeout=10) as client:
                return dict(
                    client.fetch_token(
                        endpoint, grant_type="client_credentials", resource=self._resource
                    )
                )

        return _provider_call("a token", call)


@dataclass(frozen=True)
class DeviceCode:
    """What the person is shown, and what the command polls with."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    interval: int
    expires_in: int


class DeviceSignIn:
    """RFC 8628 for a public client: start, show the code, wait for the person."""

    def __init__(self, provider: OpenIdProvider, client_id: str, resource: str, scope: str) -> None:
        self._provider = provider
        self._client_id = client_id
        self._resource = resource
        self._scope = scope

    def start(self) -> DeviceCode:
        endpoint = self._provider.endpoint("device_authorization_endpoint")
        if endpoint is None:
            raise SignInRejected(
                "the sign-in provider offers no device sign-in",
                "Use a client id and secret (PPRL_OPERATOR_CLIENT_ID) instead.",
            )
        try:
            response = self._provider.request(
                "POST",
                endpoint,
                data={
                    "client_id": self._client_id,
                    "scope": self._scope,
                    "resource": self._resource,
                },
            )
            body = response.json()
        except (HTTPError, ValueError) as exc:
            raise ProviderUnreachable(
                f"the device sign-in could not start ({type(exc).__name__})", "Try again."
            ) from None
        if response.status_code != 200 or "device_code" not in body:
            raise SignInRejected(
                f"the sign-in provider refused a device sign-in ({body.get('error', '?')})",
                "Check the client id: it must allow the device code grant.",
            )
        return DeviceCode(
            device_code=str(body["device_code"]),
            user_code=str(body["user_code"]),
            verification_uri=str(body["verification_uri"]),
            verification_uri_complete=body.get("verification_uri_complete"),
            interval=int(body.get("interval", 5)),
            expires_in=int(body.get("expires_in", 600)),
        )

    def wait(
        self, code: DeviceCode, *, sleep: Callable[[float], None] = time.sleep
    ) -> dict[str, Any]:
        """Poll until the person approves (or the code expires)."""
        endpoint = self._provider.metadata()["token_endpoint"]
        interval = float(code.interval)
        deadline = time.monotonic() + code.expires_in
        while time.monotonic() < deadline:
            try:
                with OAuth2Client(
                    self._client_id,
                    token_endpoint_auth_method=PUBLIC_CLIENT,
                    timeout=10,
                ) as client:
                    return dict(
                        client.fetch_token(
                            endpoint,
                            grant_type=DEVICE_GRANT,
                            device_code=code.device_code,
                            resource=self._resource,
                        )
                    )
            except (OAuth2Error, OAuthError) as exc:
                if exc.error == "slow_down":
                    interval += 5
                elif exc.error != "authorization_pending":
                    raise SignInRejected(
                        f"the device sign-in ended ({exc.error})",
                        "Run `pprl hub sign-in` again.",
                    ) from None
            except (HTTPError, ValueError) as exc:
                raise ProviderUnreachable(
                    f"the device sign-in could not be checked ({type(exc).__name__})",
                    "Run `pprl hub sign-in` again.",
                ) from None
            sleep(interval)
        raise SignInRejected("the code expired before it was approved", "Sign in again.")


class StoredTokens(_Renewing):
    """The tokens `pprl hub sign-in` saved (owner-only JSON), renewed with the refresh
    token; a rotated refresh token is written back in place."""

    def __init__(
        self,
        path: Path,
        *,
        http_provider: OpenIdProvider | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(clock)
        self.path = path
        saved = json.loads(path.read_text(encoding="utf-8"))
        self._saved: dict[str, Any] = saved
        self._provider = http_provider or OpenIdProvider(str(saved["issuer"]))
        self._token = saved.get("access_token")
        self._expires = float(saved.get("expires_at") or 0)
        self._lifetime = float(saved.get("lifetime") or 0)

    @staticmethod
    def looks_like(path: Path) -> bool:
        try:
            return path.read_text(encoding="utf-8").lstrip().startswith("{")
        except (OSError, UnicodeDecodeError):
            return False

    @classmethod
    def save(
        cls, path: Path, *, issuer: str, client_id: str, resource: str, token: dict[str, Any]
    ) -> dict[str, Any]:
        """Write the tokens (owner-only, whole or not at all); returns what was written."""
        now = time.time()
        expires = _expiry(token, now)
        document = {
            "issuer": issuer,
            "client_id": client_id,
            "resource": resource,
            "access_token": token.get("access_token"),
            "refresh_token": token.get("refresh_token"),
            "expires_at": expires,
            "lifetime": max(expires - now, 0.0),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, json.dumps(document).encode(), overwrite=True)
        return document

    def _fetch(self) -> dict[str, Any]:
        refresh = self._saved.get("refresh_token")
        if not isinstance(refresh, str):
            raise SignInRejected(
                f"the sign-in saved in {self.path} has expired", "Run `pprl hub sign-in` again."
            )
        endpoint = self._provider.metadata()["token_endpoint"]

        def call() -> dict[str, Any]:
            with OAuth2Client(
                self._saved["client_id"],
                token_endpoint_auth_method=PUBLIC_CLIENT,
                timeout=10,
            ) as client:
                return dict(
                    client.fetch_token(
                        endpoint,
                        grant_type="refresh_token",
                        refresh_token=refresh,
                        resource=self._saved.get("resource"),
                    )
                )

        token = _provider_call("a renewed token", call)
        token.setdefault("refresh_token", refresh)
        self._saved = self.save(
            self.path,
            issuer=self._saved["issuer"],
            client_id=self._saved["client_id"],
            resource=str(self._saved.get("resource")),
            token=token,
        )
        return token
