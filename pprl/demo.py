"""`pprl demo`: the story so far, done for real on the embedded default.

Every line it prints reports something it just did: five agencies get identities, one
creates the linkage secret and seals it to all five, each opens its own copy, a case
manager's token is issued and verified (and a forged one refused), and the consent
ledger records, proves, decides, revokes and verifies.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from keys import (
    AgencyIdentity,
    KeyRegistry,
    Role,
    TokenRejected,
    TokenVerifier,
    issue_token,
    new_linkage_secret,
    seal_linkage_secret,
    unseal_linkage_secret,
)
from keys.errors import KeyFileError

# The five programs of the design's story.
DEMO_AGENCIES: tuple[tuple[str, str, str], ...] = (
    ("DCFS", "child_welfare", "Children and Family Services (child welfare)"),
    ("DJJ", "juvenile_justice", "Juvenile Justice"),
    ("DWD", "family_employment", "Workforce Development (family employment)"),
    ("DVR", "vocational_rehab", "Vocational Rehabilitation"),
    ("DOC", "corrections", "Corrections"),
)
HUB_AUDIENCE = "pprl-hub"


def run_demo(
    workdir: Path | None = None,
    console: Console | None = None,
    *,
    database_url: str | None = None,
) -> Path:
    """Run the demo in `workdir` (new or empty); returns the directory used."""
    out = console or Console(stderr=True, soft_wrap=True)
    if database_url is not None:
        from hub.setup_checks import require_empty

        require_empty(database_url)  # before any work: the demo builds a hub of its own
    root = _prepare(workdir)
    now = datetime.now(UTC).replace(microsecond=0)

    out.rule("[bold]1. Agency identities")
    registry = KeyRegistry()
    identities: dict[str, AgencyIdentity] = {}
    table = Table("agency", "program", "signing key", "sealing key")
    for agency_id, program, _ in DEMO_AGENCIES:
        identity = AgencyIdentity.create(agency_id, (program,), now=now)
        identity.save(root / "keys" / agency_id)
        registry.register(identity.public_keys(), now)
        identities[agency_id] = identity
        table.add_row(agency_id, program, identity.signing_key_id, identity.sealing_key_id)
    registry_path = root / "registry.json"
    registry.save(registry_path)
    out.print(table)
    out.print(f"keys written under {root / 'keys'} (mode 0600); registry at {registry_path}")

    out.rule("[bold]2. Linkage secret for epoch 1, sealed to every agency")
    secret = new_linkage_secret("epoch-1")
    creator = identities["DCFS"]
    bundle = seal_linkage_secret(secret, creator, registry, list(identities), now=now)
    (root / "sealed-epoch-1.json").write_bytes(bundle + b"\n")
    out.print(
        f"DCFS made a {len(secret.secret) * 8}-bit secret and sealed {len(identities)} copies "
        f"({len(bundle)} bytes, signed by DCFS); commitment {secret.commitment()[:16]}..."
    )
    opened = Table("agency", "opened its copy", "matches commitment")
    for agency_id, identity in identities.items():
        mine = unseal_linkage_secret(bundle, identity, registry)
        mine.save(root / "keys" / agency_id / "linkage-secret-epoch-1.json")
        opened.add_row(agency_id, "yes", "yes" if mine == secret else "NO")
    out.print(opened)

    out.rule("[bold]3. A case manager's token")
    token = issue_token(
        creator,
        subject="cm-0042",
        audience=HUB_AUDIENCE,
        roles=[Role.CASE_MANAGER],
        lifetime=timedelta(minutes=15),
        now=now,
    )
    verified = TokenVerifier(registry, audience=HUB_AUDIENCE).verify(token)
    roles = ", ".join(sorted(verified.roles))
    out.print(
        f"DCFS issued a 15-minute token to case manager {verified.subject}; the hub's "
        f"verifier accepted it (issuer {verified.issuer}, roles {roles})."
    )
    forged = issue_token(
        identities["DOC"], subject="cm-0042", audience=HUB_AUDIENCE, roles=[Role.CASE_MANAGER]
    )
    forged_claims = forged.split(".")
    # DOC's key, but a header and claims that say DCFS: what a compromised agency would try.
    impostor = ".".join((token.split(".")[0], token.split(".")[1], forged_claims[2]))
    try:
        TokenVerifier(registry, audience=HUB_AUDIENCE).verify(impostor)
    except TokenRejected as exc:
        out.print(f"A token claiming DCFS but signed by DOC's key was refused: {exc.reason}.")
    else:  # pragma: no cover - would be a security bug
        raise AssertionError("forged token accepted")

    from pprl.demo_story import hub_story

    story = hub_story(
        out,
        root=root,
        identities=identities,
        programs={a: p for a, p, _ in DEMO_AGENCIES},
        secret=secret,
        now=now,
        database_url=database_url,
    )
    password = _demo_account(root, story["asked"]["consented"])

    _closing(out, root, story, password)
    return root


def _demo_account(root: Path, record_id: str) -> tuple[str, Path]:
    """A sign-in for the case manager of the consented client, on child welfare's node."""
    import secrets

    from linkage_node.job import STATE_FILE
    from linkage_node.state import NodeState
    from linkage_node.web import hash_password

    state = NodeState(root / "nodes" / "DCFS" / STATE_FILE, "DCFS")
    try:
        found = state.client(record_id)
        assert found is not None  # noqa: S101  (the story picked a current record)
        password = secrets.token_urlsafe(12)
        state.accounts.save("demo", found.case_manager_id, "case_manager", hash_password(password))
    finally:
        state.close()
    path = root / "nodes" / "DCFS-demo-password.txt"
    path.write_text(password + "\n", encoding="utf-8")
    path.chmod(0o600)
    return "demo", path


def _prepare(workdir: Path | None) -> Path:
    if workdir is None:
        return Path(tempfile.mkdtemp(prefix="pprl-demo-"))
    if workdir.exists() and any(workdir.iterdir()):
        raise KeyFileError(str(workdir), "is not empty", "Give --workdir a new or empty directory.")
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def _closing(out: Console, root: Path, story: dict[str, Any], password: tuple[str, Path]) -> None:
    """Where everything is, and how to look at it."""
    out.rule("[bold]Done")
    out.print(f"Everything the demo made is in {root}.")
    settings = story["settings"]
    env = (
        f"PPRL_DATABASE_URL={settings.database_url} PPRL_LOG_KEY_FILE={root / 'hub-log.key'} "
        f"PPRL_DATA_KEY_FILE={root / 'hub-data.key'} "
        f"PPRL_OPERATOR_ISSUER={settings.operator_issuer} "
        f"PPRL_OPERATOR_JWKS_FILE={root / 'operator-idp' / 'jwks.json'} "
        f"PPRL_SECRET_EPOCH={settings.secret_epoch} "
        f"PPRL_SCHEMA_FINGERPRINT={settings.schema_fingerprint}"
    )
    out.print("To look at the pages, start the hub and child welfare's node with the demo's files:")
    out.print(f"  {env} pprl hub serve --port 8765", soft_wrap=True)
    out.print(
        f"  pprl node serve --agency DCFS --hub http://127.0.0.1:8765 --key-dir "
        f"{root / 'keys' / 'DCFS'} --state-dir {root / 'nodes' / 'DCFS'} --log-public-key "
        f"{root / 'hub-log.key.vkey'} --port 8780",
        soft_wrap=True,
    )
    out.print(
        f"then open http://127.0.0.1:8780/ and sign in as {password[0]} (password in "
        f"{password[1]}); operators open http://127.0.0.1:8765/operator with a token from "
        f"pprl keys issue-operator-token --issuer-dir {root / 'operator-idp'} --subject op-0001",
        soft_wrap=True,
    )
    out.print(
        "Re-check the ledger yourself: "
        f"pprl consent verify --database-url {story['url']} --log-public-key "
        f"{root / 'hub-log.key.vkey'}",
        soft_wrap=True,
    )
    out.print(
        "On PostgreSQL: pprl demo --database-url postgresql+psycopg://USER@HOST:5432/EMPTY_DB",
        soft_wrap=True,
    )
