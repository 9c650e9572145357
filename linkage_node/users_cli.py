"""`pprl node add-user|list-users|disable-user|remove-user`: the staff accounts of the
node's pages. Replacing, disabling or removing an account ends its sessions at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from linkage_node.staff_accounts import StaffAccounts

err = Console(stderr=True, soft_wrap=True)

Agency = Annotated[str, typer.Option(help="Your agency id.")]
Username = Annotated[str, typer.Option(help="The sign-in name.")]
StateDir = Annotated[
    Path | None, typer.Option(help="The node's state directory (default: pprl-node/AGENCY).")
]


@contextmanager
def _accounts(agency: str, state_dir: Path | None, *, create: bool) -> Iterator[StaffAccounts]:
    from linkage_node.job import STATE_FILE
    from linkage_node.state import NodeState

    path = (state_dir or Path("pprl-node") / agency) / STATE_FILE
    if not create and not path.exists():
        raise typer.BadParameter(f"no node state in {path.parent}", param_hint="--state-dir")
    state = NodeState(path, agency)
    try:
        yield state.accounts
    finally:
        state.close()


def add_user(
    agency: Agency,
    username: Username,
    staff_id: Annotated[str, typer.Option(help="The staff id the hub knows (cm-0042).")],
    role: Annotated[
        Literal["case_manager", "supervisor", "intake"],
        typer.Option(help="What the account may see (intake: look people up before intake)."),
    ] = "case_manager",
    password_file: Annotated[
        Path | None, typer.Option(help="Read the password from this file (else a prompt).")
    ] = None,
    state_dir: StateDir = None,
) -> None:
    """Create or replace a staff account for the node's pages (argon2id hash); replacing
    one (a password reset) ends its sessions."""
    from keys import is_staff_id
    from linkage_node.web import hash_password

    if not is_staff_id(staff_id):
        raise typer.BadParameter(
            "a staff id looks like cm-0042 (never a name)", param_hint="--staff-id"
        )
    if password_file is not None:
        password = password_file.read_text(encoding="utf-8").rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise typer.BadParameter("use at least 12 characters", param_hint="password")
    with _accounts(agency, state_dir, create=True) as accounts:
        replaced = accounts.get(username) is not None
        accounts.save(username, staff_id, role, hash_password(password))
    what = "replaced (its sessions ended)" if replaced else "saved"
    err.print(f"account {username} ({role} {staff_id}) {what}")


def list_users(
    agency: Agency,
    state_dir: StateDir = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """The node's staff accounts: username, staff id, role, enabled or disabled."""
    with _accounts(agency, state_dir, create=False) as accounts:
        rows = accounts.all()
    if json_out:
        typer.echo(
            json.dumps(
                [
                    {
                        "username": a.username,
                        "staff_id": a.staff_id,
                        "role": a.role,
                        "disabled": a.disabled,
                    }
                    for a in rows
                ],
                indent=2,
            )
        )
        return
    table = Table("username", "staff id", "role", "status", title=f"{agency} node accounts")
    for a in rows:
        table.add_row(a.username, a.staff_id, a.role, "disabled" if a.disabled else "enabled")
    err.print(table)


def disable_user(agency: Agency, username: Username, state_dir: StateDir = None) -> None:
    """Stop an account signing in and end its sessions (add-user enables it again)."""
    with _accounts(agency, state_dir, create=False) as accounts:
        accounts.disable(username)
    err.print(f"account {username} disabled; its sessions ended")


def remove_user(agency: Agency, username: Username, state_dir: StateDir = None) -> None:
    """Delete an account; its sessions end."""
    with _accounts(agency, state_dir, create=False) as accounts:
        accounts.remove(username)
    err.print(f"account {username} removed; its sessions ended")
