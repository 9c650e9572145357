"""A real OpenID provider for the sign-in tests: `tests/oidc/provider.mjs` (the
OpenID-certified `oidc-provider` package on the machine's Node.js), started on a free
loopback port with the clients and accounts a test needs, and a way to rotate its keys.

`sign_in_at_provider` plays the person at the provider's login form (the package's own
development form: a known account, any password).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from joserfc.jwk import ECKey

from tests.processes import free_port

HERE = Path(__file__).parent / "oidc"
SCRIPT = HERE / "provider.mjs"
HUB_AUDIENCE = "pprl-hub"


def signing_key(kid: str) -> dict[str, Any]:
    """A fresh ES256 signing key as a private JWK (the provider's own)."""
    key = ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"})
    return dict(key.as_dict(private=True))


@dataclass
class OpenIdProvider:
    """One running provider; `rotate()` restarts it signing with a new key."""

    workdir: Path
    clients: list[dict[str, Any]]
    accounts: dict[str, dict[str, Any]]
    client_roles: dict[str, list[str]] = field(default_factory=dict)
    hub_clients: list[str] = field(default_factory=list)
    access_token_seconds: int = 600
    id_token_seconds: int = 600
    port: int = field(default_factory=free_port)
    keys: list[dict[str, Any]] = field(default_factory=lambda: [signing_key("key-1")])
    _process: subprocess.Popen[str] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        node = shutil.which("node")
        if node is None or not (HERE / "node_modules" / "oidc-provider").exists():
            raise RuntimeError("the test provider needs Node.js and `make setup` (npm ci)")
        config = self.workdir / f"provider-{self.port}.json"
        config.write_text(
            json.dumps(
                {
                    "issuer": self.issuer,
                    "port": self.port,
                    "jwks": {"keys": self.keys},
                    "clients": self.clients,
                    "accounts": self.accounts,
                    "client_roles": self.client_roles,
                    "hub_clients": self.hub_clients,
                    "hub_audience": HUB_AUDIENCE,
                    "access_token_seconds": self.access_token_seconds,
                    "id_token_seconds": self.id_token_seconds,
                }
            )
        )
        self._process = subprocess.Popen(  # noqa: S603
            [node, str(SCRIPT), str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=HERE,
        )
        ready = threading.Event()
        lines: list[str] = []

        def read() -> None:
            assert self._process is not None
            assert self._process.stdout is not None
            for line in self._process.stdout:
                lines.append(line)
                if line.strip() == "ready":
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(30):
            self.stop()
            raise RuntimeError("the OpenID provider did not start:\n" + "".join(lines))

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None

    def rotate(self) -> str:
        """Sign with a new key from now on (the old one still published, as providers
        do during a rotation); returns the new key's id."""
        kid = f"key-{len(self.keys) + 1}"
        self.stop()
        self.keys = [signing_key(kid), *self.keys]
        self.start()
        return kid


def web_client(client_id: str, secret: str, callback: str, signed_out: str) -> dict[str, Any]:
    """A web application's registration (the pages' sign-in)."""
    return {
        "client_id": client_id,
        "client_secret": secret,
        "redirect_uris": [callback],
        "post_logout_redirect_uris": [signed_out],
    }


def job_client(client_id: str, secret: str) -> dict[str, Any]:
    """A scheduled job's registration (client credentials only)."""
    return {
        "client_id": client_id,
        "client_secret": secret,
        "grant_types": ["client_credentials"],
        "response_types": [],
        "redirect_uris": [],
    }


def device_client(client_id: str) -> dict[str, Any]:
    """The command line's registration: public, device codes and refresh tokens."""
    return {
        "client_id": client_id,
        "token_endpoint_auth_method": "none",
        "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
        "response_types": [],
        "redirect_uris": [],
    }


def moved_on_to(response: Any) -> str:
    """Where a "Signed in" page moves on to (its meta refresh)."""
    found = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', response.text)
    assert found, response.text
    return html.unescape(found.group(1))


def running(provider: OpenIdProvider) -> Iterator[OpenIdProvider]:
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


_FORM = re.compile(r'<form[^>]*action="([^"]+)"', re.IGNORECASE)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', re.IGNORECASE)


def _at_provider(browser: httpx.Client, response: httpx.Response, issuer: str) -> httpx.Response:
    """Follow redirects while they stay at the provider."""
    for _ in range(10):
        location = response.headers.get("location")
        if not (response.is_redirect and location):
            return response
        target = urljoin(str(response.url), location)
        if not target.startswith(issuer + "/"):
            return response
        response = browser.get(target)
    raise AssertionError("the provider kept redirecting")


def sign_in_at_provider(browser: httpx.Client, url: str, login: str, issuer: str) -> httpx.Response:
    """A person at the provider: open the authorization request, sign in as `login` on
    its login form if it asks (any password), and stop at the redirect back to the
    application (returned)."""
    response = _at_provider(browser, browser.get(url), issuer)
    for _ in range(5):
        form = _FORM.search(response.text) if not response.is_redirect else None
        if form is None:
            return response
        action = urljoin(str(response.url), form.group(1))
        data = {"prompt": "login", "login": login, "password": "any"}
        if 'name="login"' not in response.text:
            data = {"prompt": "consent"}
        response = _at_provider(browser, browser.post(action, data=data), issuer)
    raise AssertionError("the provider kept asking")


def asks_to_sign_in(browser: httpx.Client, url: str, issuer: str) -> bool:
    """Whether the provider shows its login form for `url` (no session there)."""
    response = _at_provider(browser, browser.get(url), issuer)
    return 'name="login"' in response.text


def confirm_sign_out(browser: httpx.Client, url: str, issuer: str) -> httpx.Response:
    """Open the provider's end-session URL and say yes; returns the redirect back."""
    page = _at_provider(browser, browser.get(url), issuer)
    form = _FORM.search(page.text)
    assert form is not None, page.text
    data = dict(_HIDDEN.findall(page.text))
    data["logout"] = "yes"
    return _at_provider(
        browser, browser.post(urljoin(str(page.url), form.group(1)), data=data), issuer
    )


def approve_device(browser: httpx.Client, url: str, login: str, issuer: str) -> str:
    """A person approving a device code at `url` (its verification address with the code):
    confirm the code, sign in as `login`; returns the provider's last page title."""
    response = _at_provider(browser, browser.get(url), issuer)
    for _ in range(6):
        form = _FORM.search(response.text)
        if form is None:
            break
        data = dict(_HIDDEN.findall(response.text))
        if 'name="login"' in response.text:
            data.update(prompt="login", login=login, password="any")
        action = urljoin(str(response.url), form.group(1))
        response = _at_provider(browser, browser.post(action, data=data), issuer)
    title = re.search(r"<title>([^<]+)</title>", response.text)
    return title.group(1) if title else ""
