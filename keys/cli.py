"""`pprl keys ...`: agency identities, the key registry, linkage secrets, tokens."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from keys.errors import MalformedDocument
from keys.files import write_private
from keys.identity import AgencyIdentity, AgencyPublicKeys
from keys.linkage_secret import new_linkage_secret, seal_linkage_secret, unseal_linkage_secret
from keys.registry import KeyRegistry
from keys.tokens import DEFAULT_LIFETIME, Role, TokenVerifier, issue_token

app = typer.Typer(
    help="Agency keys, the key registry, linkage secrets and case-manager tokens.",
    no_args_is_help=True,
)
registry_app = typer.Typer(
    help="The registry of agencies and their public keys.", no_args_is_help=True
)
app.add_typer(registry_app, name="registry")

err = Console(stderr=True)

PASSPHRASE_ENV = "PPRL_KEY_PASSPHRASE"  # noqa: S105  (the variable's name)

KeyDir = Annotated[
    Path,
    typer.Option(
        "--key-dir",
        envvar="PPRL_KEY_DIR",
        help="The agency's key directory (made by `pprl keys init-agency`).",
    ),
]
RegistryPath = Annotated[
    Path,
    typer.Option("--registry", envvar="PPRL_KEY_REGISTRY", help="Key registry JSON file."),
]
PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help=f"Read the key passphrase from this file (else ${PASSPHRASE_ENV}, else none).",
    ),
]
PassphrasePrompt = Annotated[
    bool, typer.Option("--passphrase-prompt", help="Ask for the key passphrase (hidden).")
]
Audience = Annotated[
    str,
    typer.Option("--audience", envvar="PPRL_HUB_AUDIENCE", help="The hub the token is for."),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def _passphrase(file: Path | None, prompt: bool, *, confirm: bool = False) -> str | None:
    """A passphrase from a file, a hidden prompt, or the environment: never an argument."""
    if file is not None:
        text = file.read_text(encoding="utf-8")  # missing: a usage error (exit 2)
        return text.rstrip("\r\n")
    if prompt:
        value: str = typer.prompt(
            "Key passphrase", hide_input=True, confirmation_prompt=confirm, err=True
        )
        return value
    return os.environ.get(PASSPHRASE_ENV) or None


def _parse_time(value: str | None, option: str) -> datetime:
    if value is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            "use ISO 8601, e.g. 2026-11-23T00:00:00Z", param_hint=option
        ) from None
    if parsed.tzinfo is None:
        raise typer.BadParameter("add a timezone, e.g. 'Z' for UTC", param_hint=option)
    return parsed


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def read_passphrase(passphrase_file: Path | None) -> str | None:
    """A key passphrase from a file or PPRL_KEY_PASSPHRASE (None: keys not encrypted)."""
    return _passphrase(passphrase_file, False)


def load_identity(key_dir: Path, passphrase_file: Path | None, prompt: bool) -> AgencyIdentity:
    """The agency identity in `key_dir`, with its passphrase from a file, prompt or env."""
    return AgencyIdentity.load(key_dir, passphrase=_passphrase(passphrase_file, prompt))


@app.command("init-agency")
def init_agency(
    agency: Annotated[str, typer.Option(help="Agency id, e.g. DCFS.")],
    programs: Annotated[list[str], typer.Option(help="Program ids (repeat or comma-separate).")],
    key_dir: Annotated[
        Path | None,
        typer.Option("--key-dir", help="Where to write the keys (default: pprl-keys/AGENCY)."),
    ] = None,
    passphrase_file: PassphraseFile = None,
    passphrase_prompt: PassphrasePrompt = False,
    json_out: JsonOut = False,
) -> None:
    """Create an agency's Ed25519 signing key and X25519 sealing key (files mode 0600)."""
    identity = AgencyIdentity.create(agency, tuple(_split(programs)))
    target = key_dir or Path("pprl-keys") / agency
    passphrase = _passphrase(passphrase_file, passphrase_prompt, confirm=True)
    identity.save(target, passphrase=passphrase)
    public = identity.public_keys()
    if passphrase is None:
        err.print(
            "[yellow]warning:[/] private keys are not passphrase-protected; "
            "only file mode 0600 guards them."
        )
    err.print(f"created identity for agency [bold]{agency}[/] in {target}")
    err.print(f"  signing key {public.signing_key_id}")
    err.print(f"  sealing key {public.sealing_key_id}")
    err.print(f"  send {target / 'agency.json'} to the hub operator to be registered")
    if json_out:
        typer.echo(json.dumps(public.model_dump(mode="json"), indent=2))


@app.command("show")
def show(key_dir: KeyDir) -> None:
    """Print the agency's public-key document (no private key is read)."""
    path = key_dir / "agency.json"
    data = path.read_bytes()  # a missing file is reported as a usage error
    public = AgencyPublicKeys.from_json(data, str(path))
    typer.echo(json.dumps(public.model_dump(mode="json"), indent=2))


@registry_app.command("add")
def registry_add(
    registry: RegistryPath,
    public: Annotated[Path, typer.Option(help="The agency's agency.json.")],
    valid_from: Annotated[
        str | None, typer.Option(help="ISO 8601 instant its keys start to count (default: now).")
    ] = None,
) -> None:
    """Register an agency from its public-key document (creates the registry file)."""
    reg = KeyRegistry.load(registry) if registry.exists() else KeyRegistry()
    data = public.read_bytes()  # a missing file is reported as a usage error (exit 2)
    doc = AgencyPublicKeys.from_json(data, str(public))
    reg.register(doc, _parse_time(valid_from, "--valid-from"))
    reg.save(registry)
    err.print(
        f"registered agency [bold]{doc.agency_id}[/] ({', '.join(doc.programs)}) in {registry}"
    )


@registry_app.command("revoke")
def registry_revoke(
    registry: RegistryPath,
    agency: Annotated[str, typer.Option(help="Agency id.")],
    key_id: Annotated[str, typer.Option(help="The key id to revoke.")],
    at: Annotated[
        str | None,
        typer.Option(
            help="ISO 8601 instant from which it is invalid (default: now); "
            "for a compromised key, the earliest possible exposure."
        ),
    ] = None,
) -> None:
    """Revoke an agency key: statements made at or after the instant fail."""
    reg = KeyRegistry.load(registry)
    when = _parse_time(at, "--at")
    reg.revoke(agency, key_id, when)
    reg.save(registry)
    err.print(f"revoked {key_id} of {agency} from {when.isoformat()}")


@registry_app.command("list")
def registry_list(registry: RegistryPath, json_out: JsonOut = False) -> None:
    """List registered agencies and their keys."""
    reg = KeyRegistry.load(registry)
    if json_out:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in reg], indent=2))
        return
    for record in reg:
        typer.echo(f"{record.agency_id}\t{','.join(record.programs)}")
        for key in record.keys:
            state = f"revoked {key.revoked_at.isoformat()}" if key.revoked_at else "active"
            typer.echo(f"  {key.key_id}\tfrom {key.valid_from.isoformat()}\t{state}")


@app.command("new-linkage-secret")
def new_secret(
    key_dir: KeyDir,
    registry: RegistryPath,
    epoch: Annotated[str, typer.Option(help="Epoch id for this secret, e.g. 2026-11.")],
    output: Annotated[Path, typer.Option(help="Where to write the sealed bundle.")],
    to: Annotated[
        list[str] | None,
        typer.Option(help="Recipient agencies (default: every registered agency)."),
    ] = None,
    passphrase_file: PassphraseFile = None,
    passphrase_prompt: PassphrasePrompt = False,
) -> None:
    """Make a 256-bit linkage secret and seal one copy to each agency's key.

    The bundle is signed by this agency and safe to relay through the hub. The secret
    itself is never written in the clear: recipients, this agency included, run
    `pprl keys unseal` on the bundle.
    """
    creator = load_identity(key_dir, passphrase_file, passphrase_prompt)
    reg = KeyRegistry.load(registry)
    recipients = _split(to) if to else [r.agency_id for r in reg]
    secret = new_linkage_secret(epoch)
    bundle = seal_linkage_secret(secret, creator, reg, recipients)
    try:
        with output.open("xb") as handle:
            handle.write(bundle + b"\n")
    except FileExistsError:
        raise MalformedDocument("already exists; choose another --output", str(output)) from None
    names = ", ".join(sorted(recipients))
    err.print(f"sealed epoch [bold]{epoch}[/] secret to {len(recipients)} agencies: {names}")
    err.print(f"  commitment {secret.commitment()}")
    err.print(f"  bundle written to {output}")


@app.command("unseal")
def unseal(
    key_dir: KeyDir,
    registry: RegistryPath,
    input_path: Annotated[Path, typer.Option("--input", help="The sealed bundle.")],
    output: Annotated[Path, typer.Option(help="Where to write the secret (mode 0600).")],
    passphrase_file: PassphraseFile = None,
    passphrase_prompt: PassphrasePrompt = False,
) -> None:
    """Open this agency's copy of a sealed linkage secret and store it (mode 0600)."""
    identity = load_identity(key_dir, passphrase_file, passphrase_prompt)
    reg = KeyRegistry.load(registry)
    bundle = input_path.read_bytes()  # a missing file is reported as a usage error (exit 2)
    secret = unseal_linkage_secret(bundle, identity, reg)
    secret.save(output)
    err.print(
        f"unsealed epoch [bold]{secret.epoch}[/] secret for {identity.agency_id} into {output}"
    )
    err.print(f"  commitment {secret.commitment()}")


TokenOutput = Annotated[
    Path | None,
    typer.Option(
        help="Write the token to this file, readable by you only (0600), instead of stdout "
        "(a shell redirect would leave it readable by others)."
    ),
]


def _emit_token(token: str, output: Path | None) -> None:
    if output is None:
        typer.echo(token)
        return
    write_private(output, (token + "\n").encode("ascii"), overwrite=True)
    err.print(f"token written to {output} (mode 0600)")


@app.command("issue-token")
def issue(
    key_dir: KeyDir,
    subject: Annotated[str, typer.Option(help="Staff id of the case manager (never a name).")],
    role: Annotated[
        list[Role] | None,
        typer.Option(help="Role to grant (repeatable) (default: case_manager)."),
    ] = None,
    audience: Audience = "pprl-hub",
    lifetime_minutes: Annotated[
        int, typer.Option(min=1, max=60, help="Token lifetime in minutes.")
    ] = int(DEFAULT_LIFETIME.total_seconds() // 60),
    passphrase_file: PassphraseFile = None,
    passphrase_prompt: PassphrasePrompt = False,
    output: TokenOutput = None,
) -> None:
    """Issue a short-lived access token; prints it on stdout, or writes it to --output."""
    identity = load_identity(key_dir, passphrase_file, passphrase_prompt)
    token = issue_token(
        identity,
        subject=subject,
        audience=audience,
        roles=role or [Role.CASE_MANAGER],
        lifetime=timedelta(minutes=lifetime_minutes),
    )
    _emit_token(token, output)
    err.print(f"issued a {lifetime_minutes}-minute token for {subject} of {identity.agency_id}")


@app.command("verify-token")
def verify(
    registry: RegistryPath,
    token_file: Annotated[
        Path, typer.Option(help="File holding the token; '-' reads standard input.")
    ],
    audience: Audience = "pprl-hub",
) -> None:
    """Verify a token against the registry; prints its claims as JSON."""
    if str(token_file) == "-":
        token = sys.stdin.read().strip()
    else:
        try:
            token = token_file.read_text(encoding="ascii").strip()
        except UnicodeDecodeError:
            raise MalformedDocument("is not a token (not ASCII text)", str(token_file)) from None
    verified = TokenVerifier(KeyRegistry.load(registry), audience=audience).verify(token)
    typer.echo(
        json.dumps(
            {
                "issuer": verified.issuer,
                "subject": verified.subject,
                "roles": sorted(verified.roles),
                "issued_at": verified.issued_at.isoformat(),
                "expires_at": verified.expires_at.isoformat(),
                "key_id": verified.key_id,
            },
            indent=2,
        )
    )
    err.print("token valid")


@app.command("init-issuer")
def init_issuer(
    issuer: Annotated[str, typer.Option(help="Issuer URL the hub will expect in 'iss'.")],
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", help="Directory for issuer.pem (0600) and jwks.json."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", hidden=True)] = None,  # older spelling
) -> None:
    """Create a local operator identity provider (for development and the demo).

    In production, configure the hub with your organisation's OIDC issuer and its JWKS.
    """
    from keys.issuer import LocalIssuer

    out = output_dir or out
    if out is None:
        raise typer.BadParameter("say where to write the issuer", param_hint="--output-dir")

    LocalIssuer.create(issuer).save(out)
    err.print(f"issuer {issuer}: key in {out / 'issuer.pem'}, key set in {out / 'jwks.json'}")


@app.command("issue-operator-token")
def issue_operator_token(
    issuer_dir: Annotated[Path, typer.Option(help="Directory made by `pprl keys init-issuer`.")],
    subject: Annotated[str, typer.Option(help="The operator's or auditor's id.")],
    role: Annotated[
        list[Role] | None,
        typer.Option(help="hub_operator or auditor (repeatable) (default: hub_operator)."),
    ] = None,
    audience: Audience = "pprl-hub",
    lifetime_minutes: Annotated[int, typer.Option(min=1, max=60)] = 15,
    output: TokenOutput = None,
) -> None:
    """Issue a short-lived operator or auditor token; prints it on stdout, or writes it
    to --output."""
    from keys.issuer import LocalIssuer

    token = LocalIssuer.load(issuer_dir).issue(
        subject=subject,
        audience=audience,
        roles=role or [Role.HUB_OPERATOR],
        lifetime=timedelta(minutes=lifetime_minutes),
    )
    _emit_token(token, output)
