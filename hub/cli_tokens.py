"""Where an operator's command gets its access tokens, renewed as they expire so a long
`run-linkage --wait` outlives any one of them:

- `--token-file` holding a token: used as it is (it lasts an hour at most);
- `--token-file` written by `pprl hub sign-in` (a device sign-in): renewed with its
  refresh token;
- no `--token-file`, for scheduled jobs: the job's own client at the operators' provider
  (client credentials), named by PPRL_OPERATOR_ISSUER, PPRL_OPERATOR_JOB_CLIENT_ID and
  PPRL_OPERATOR_JOB_CLIENT_SECRET_FILE.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import typer

from keys.files import too_open
from sso import ClientCredentials, OpenIdProvider, StoredTokens

JOB_SETTINGS = (
    "PPRL_OPERATOR_ISSUER",
    "PPRL_OPERATOR_JOB_CLIENT_ID",
    "PPRL_OPERATOR_JOB_CLIENT_SECRET_FILE",
)


def operator_tokens(hub: str, token_file: Path | None) -> Callable[[], str]:
    """The token source for an operator's command against `hub`."""
    if token_file is not None:
        if StoredTokens.looks_like(token_file):
            return StoredTokens(token_file)
        token = token_file.read_text(encoding="ascii").strip()
        return lambda: token
    issuer, client_id, secret_file = (os.environ.get(name) for name in JOB_SETTINGS)
    if not (issuer and client_id and secret_file):
        raise typer.BadParameter(
            "give --token-file (a token, or the file `pprl hub sign-in` wrote), or set "
            + ", ".join(JOB_SETTINGS)
            + " for a job's own client",
            param_hint="--token-file",
        )
    secret_path = Path(secret_file)
    if too_open(secret_path):
        raise typer.BadParameter(
            f"{secret_path} is readable by other users; run `chmod 600 {secret_path}`",
            param_hint="PPRL_OPERATOR_JOB_CLIENT_SECRET_FILE",
        )
    secret = secret_path.read_text(encoding="utf-8").strip()
    return ClientCredentials(OpenIdProvider(issuer), client_id, secret, resource=hub)
