"""`pprl node lookup`: "who is this?" at intake, before the person is on any synced
roster. The typed identifiers are encoded here under the linkage secret; only the
encoding goes to the hub, which answers with the other programs that serve a matching
person (existence only) and records the question on the ledger. Exit statuses: 0 asked
(whatever the answer), 1 the hub refused or is unreachable, 2 usage, 3 identifiers that
cannot be matched as typed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from linkage_node import person_options as options
from linkage_node.consent_options import Agency, Hub, KeyDir, SecretFile
from linkage_node.person_options import Dob, Family, Given, Phone, Sex, Ssn, Zip

err = Console(stderr=True, soft_wrap=True)


def lookup(
    agency: Agency,
    hub: Hub,
    key_dir: KeyDir,
    secret_file: SecretFile,
    staff: Annotated[str, typer.Option(help="Your staff id (intake), recorded with the question.")],
    given: Given,
    family: Family,
    dob: Dob,
    ssn: Ssn = "",
    sex: Sex = "",
    zip_code: Zip = "",
    phone: Phone = "",
    schema: Annotated[
        Path | None, typer.Option(help="Linkage schema (default: the bundled default).")
    ] = None,
    passphrase_file: Annotated[Path | None, typer.Option("--passphrase-file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Which other programs serve a person matching these identifiers? Nothing but an
    encoding leaves this machine; the answer names programs, never records."""
    from keys import LinkageSecret
    from keys.cli import load_identity
    from linkage_node.hub_client import node_client
    from linkage_node.intake import look_up
    from linkage_node.schema import load_schema

    identity = load_identity(key_dir, passphrase_file, False)
    if identity.agency_id != agency:
        raise typer.BadParameter(f"the keys in {key_dir} are agency {identity.agency_id}'s")
    person = options.person(given, family, dob, ssn=ssn, sex=sex, zip_code=zip_code, phone=phone)
    with node_client(hub, identity) as client:
        answer = look_up(
            client,
            identity,
            staff,
            schema=load_schema(schema),
            secret=LinkageSecret.load(secret_file),
            person=person,
            today=datetime.now(UTC).date(),
        )
    if as_json:
        typer.echo(answer.model_dump_json(include={"decided_at", "programs", "past_programs"}))
        return
    if not answer.programs:
        err.print("no other program may be named as serving a matching person")
    for p in answer.programs:
        err.print(f"{p.program.replace('_', ' ')}: {p.confidence}-confidence match")
    for past in answer.past_programs:
        err.print(
            f"{past.program.replace('_', ' ')}: served a {past.confidence}-confidence match "
            f"until {past.exited_on.isoformat()}"
        )
