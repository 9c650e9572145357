"""`pprl hub sign-in`: an operator at a terminal signs in at the operators' provider with
a device code (RFC 8628): the command shows a short code and an address, the operator
approves it in any browser, and the tokens go to an owner-only file that the other
operator commands take as --token-file and renew by themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

err = Console(stderr=True, soft_wrap=True)


def sign_in(
    hub: Annotated[str, typer.Option("--hub", envvar="PPRL_HUB_URL", help="The hub's base URL.")],
    issuer: Annotated[
        str,
        typer.Option(envvar="PPRL_OPERATOR_ISSUER", help="The operators' identity provider."),
    ],
    client_id: Annotated[
        str,
        typer.Option(
            envvar="PPRL_OPERATOR_CLI_CLIENT_ID",
            help="The command line's client id there (a public client with device codes).",
        ),
    ] = "pprl-cli",
    token_file: Annotated[
        Path, typer.Option(help="Where to keep the tokens (readable by you only).")
    ] = Path("operator-token.json"),
    scope: Annotated[str, typer.Option(help="Scopes to ask for.")] = "openid offline_access",
) -> None:
    """Sign in at the operators' provider from this terminal (device code)."""
    from sso import DeviceSignIn, OpenIdProvider, StoredTokens

    provider = OpenIdProvider(issuer)
    device = DeviceSignIn(provider, client_id, resource=hub, scope=scope)
    code = device.start()
    where = code.verification_uri_complete or code.verification_uri
    err.print(
        f"Open {where} in a browser and enter the code {code.user_code} "
        f"(it expires in {code.expires_in // 60} minutes). Waiting…"
    )
    token = device.wait(code)
    StoredTokens.save(token_file, issuer=issuer, client_id=client_id, resource=hub, token=token)
    renewable = "renewed by itself" if token.get("refresh_token") else "valid until it expires"
    err.print(f"signed in; tokens saved to {token_file} ({renewable})")
