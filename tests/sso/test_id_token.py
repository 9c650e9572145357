"""The ID-token checks, each one failing alone, against a provider served by
httpx.MockTransport (discovery and keys); the whole sign-in runs against a real
provider in tests/linkage_node/web/test_sso_sign_in.py."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from sso import OpenIdProvider, ProviderUnreachable, SignInRejected
from sso.id_token import verify_id_token

ISSUER = "https://login.state.example"


def provider_with(
    keys: list[ECKey], document: dict[str, Any] | None = None
) -> tuple[OpenIdProvider, list[str]]:
    asked: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json=document
                or {
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/auth",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks_uri": f"{ISSUER}/jwks",
                },
            )
        return httpx.Response(200, json=KeySet(list(keys)).as_dict(private=False))

    http = httpx.Client(transport=httpx.MockTransport(handle))
    return OpenIdProvider(ISSUER, http=http), asked


def key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid, "alg": "ES256", "use": "sig"})


def id_token(signing: ECKey, **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": "node",
        "sub": "u1",
        "iat": now,
        "exp": now + 300,
        "nonce": "n-1",
        **changes,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "ES256", "kid": signing.kid}, claims, signing)


def test_a_good_token_passes() -> None:
    signing = key("k1")
    provider, _ = provider_with([signing])
    claims = verify_id_token(provider, id_token(signing), client_id="node", nonce="n-1")
    assert claims["sub"] == "u1"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://elsewhere.example"}, "another issuer"),
        ({"aud": "someone-else"}, "another application"),
        ({"aud": ["node", "other"]}, "several applications"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"iat": int(time.time()) + 3600}, "in the future"),
        ({"nonce": "n-2"}, "another sign-in"),
        ({"nonce": None}, "another sign-in"),
        ({"sub": ""}, "names nobody"),
    ],
)
def test_each_claim_check_refuses(changes: dict[str, Any], reason: str) -> None:
    signing = key("k1")
    provider, _ = provider_with([signing])
    with pytest.raises(SignInRejected, match=reason):
        verify_id_token(provider, id_token(signing, **changes), client_id="node", nonce="n-1")


def test_a_token_signed_by_a_key_the_provider_does_not_publish_is_refused() -> None:
    provider, _ = provider_with([key("k1")])
    forged = id_token(key("k1"))  # same key id, another key
    with pytest.raises(SignInRejected, match="signature"):
        verify_id_token(provider, forged, client_id="node", nonce="n-1")


def test_an_unsigned_token_is_refused() -> None:
    provider, _ = provider_with([key("k1")])
    header = "eyJhbGciOiJub25lIiwia2lkIjoiazEifQ"
    body = jwt.encode({"alg": "ES256"}, {"sub": "x"}, key("k1")).split(".")[1]
    with pytest.raises(SignInRejected):
        verify_id_token(provider, f"{header}.{body}.", client_id="node", nonce="n-1")


def test_forged_key_ids_fetch_the_keys_only_a_few_times_a_minute() -> None:
    signing = key("k1")
    provider, asked = provider_with([signing])
    verify_id_token(provider, id_token(signing), client_id="node", nonce="n-1")
    for i in range(20):
        with pytest.raises(SignInRejected):
            verify_id_token(provider, id_token(key(f"x{i}")), client_id="node", nonce="n-1")
    assert asked.count("/jwks") == 6


def test_a_discovery_document_for_another_issuer_is_refused() -> None:
    provider, _ = provider_with(
        [key("k1")],
        {
            "issuer": "https://evil.example",
            "authorization_endpoint": "https://evil.example/a",
            "token_endpoint": "https://evil.example/t",
            "jwks_uri": "https://evil.example/j",
        },
    )
    with pytest.raises(ProviderUnreachable, match="another issuer"):
        provider.metadata()


def test_plain_http_is_refused_beyond_this_machine() -> None:
    with pytest.raises(ValueError, match="https"):
        OpenIdProvider("http://login.state.example")
    OpenIdProvider("http://127.0.0.1:9000")  # a provider on the same machine
