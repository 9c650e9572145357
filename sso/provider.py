"""The state's OpenID provider as a relying party sees it: the discovery document and
the signing keys, both fetched over HTTP and cached.

Keys are fetched again when a token names a key id the cache does not hold (the
provider rotated its keys), at most `key_fetches_per_minute` times a minute, so a flood
of forged key ids cannot turn into a flood of requests to the provider.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from keys import canonical
from sso.errors import BadIssuer, ProviderUnreachable

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _secure_enough(url: str, issuer: str) -> bool:
    """HTTPS, or plain HTTP on loopback when the issuer itself is on loopback (tests and
    a provider on the same machine)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    return (
        parts.scheme == "http"
        and parts.hostname in _LOOPBACK
        and urlsplit(issuer).hostname in _LOOPBACK
    )


def key_id(token: str) -> str | None:
    """The `kid` in a JWT's header (only to pick a key: the signature check decides)."""
    try:
        header = canonical.strict_json_loads(
            canonical.b64url_decode(token.split(".", maxsplit=1)[0])
        )
    except (canonical.EncodingError, IndexError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


class OpenIdProvider:
    """Discovery and keys of one issuer."""

    def __init__(
        self,
        issuer: str,
        *,
        http: httpx.Client | None = None,
        metadata_seconds: float = 3600.0,
        key_fetches_per_minute: int = 6,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not _secure_enough(issuer, issuer):
            raise BadIssuer(
                f"the sign-in provider's issuer {issuer} is not an https:// URL",
                "Give its https:// address (plain http only for a provider on this machine).",
            )
        self.issuer = issuer.rstrip("/")
        self._http = http  # tests; otherwise a client per fetch (fetches are rare)
        self._metadata_seconds = metadata_seconds
        self._key_fetches_per_minute = key_fetches_per_minute
        self._key_fetches: deque[float] = deque()
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._document: dict[str, Any] = {"keys": []}

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = self.request("GET", url)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnreachable(
                f"the sign-in provider's {what} could not be read ({type(exc).__name__})",
                "Try again in a minute; if it persists, tell the hub operators.",
            ) from None
        if not isinstance(body, dict):
            raise ProviderUnreachable(
                f"the sign-in provider's {what} is not a JSON object",
                "Check the configured issuer URL.",
            )
        return body

    def request(self, method: str, url: str, data: dict[str, str] | None = None) -> httpx.Response:
        """One request to the provider."""
        headers = {"Accept": "application/json"}
        if self._http is not None:
            return self._http.request(method, url, data=data, headers=headers)
        with httpx.Client(timeout=10) as client:
            return client.request(method, url, data=data, headers=headers)

    def metadata(self) -> dict[str, Any]:
        """The discovery document, whose `issuer` must be exactly the configured one
        (OpenID Connect Discovery 1.0, section 4.3)."""
        with self._lock:
            fresh = self._clock() - self._metadata_at < self._metadata_seconds
            if self._metadata is not None and fresh:
                return self._metadata
        document = self._get_json(
            f"{self.issuer}/.well-known/openid-configuration", "discovery document"
        )
        if str(document.get("issuer", "")).rstrip("/") != self.issuer:
            raise ProviderUnreachable(
                "the sign-in provider's discovery document names another issuer",
                "Set the issuer URL exactly as the provider publishes it.",
            )
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            url = document.get(name)
            if not isinstance(url, str) or not _secure_enough(url, self.issuer):
                raise ProviderUnreachable(
                    f"the sign-in provider's {name} is missing or not https",
                    "Check the provider's configuration.",
                )
        with self._lock:
            self._metadata, self._metadata_at = document, self._clock()
        return document

    def endpoint(self, name: str) -> str | None:
        """An endpoint from discovery (`end_session_endpoint`, ...), if published."""
        url = self.metadata().get(name)
        return url if isinstance(url, str) and _secure_enough(url, self.issuer) else None

    def keys_for(self, kid: str | None) -> KeySet:
        """The provider's signing keys; fetched again when `kid` is not among them."""
        with self._lock:
            keys = self._keys
            if keys is not None and any(k.kid == kid for k in keys.keys):
                return keys
            now = self._clock()
            while self._key_fetches and now - self._key_fetches[0] > 60:
                self._key_fetches.popleft()
            if keys is not None and len(self._key_fetches) >= self._key_fetches_per_minute:
                return keys  # the token is then refused for its unknown key
            self._key_fetches.append(now)
        document = self._get_json(str(self.metadata()["jwks_uri"]), "signing keys")
        try:
            fetched = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise ProviderUnreachable(
                "the sign-in provider's signing keys could not be read",
                "Tell the hub operators; the provider publishes a broken key set.",
            ) from None
        with self._lock:
            self._keys, self._document = fetched, document
        return fetched

    def key_document(self, kid: str | None) -> dict[str, Any]:
        """The published key set as JSON (JWKS), fetched again as `keys_for` would."""
        self.keys_for(kid)
        with self._lock:
            return self._document
