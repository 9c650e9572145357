"""`pprl`: the one command-line entry point.

Exit statuses: 0 ok, 1 failure, 2 usage error, 3 invalid input data, 4 the hub's consent
ledger went back or forked (a node's witness alarm). Each package's error base carries
`advice()` and `exit_code`; they are caught once, here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from consent.cli import app as consent_app
from consent.errors import ConsentError
from hub import consent_cli
from hub.cli import app as hub_app
from keys.cli import app as keys_app
from keys.errors import KeysError
from linkage_node.cli import app as node_app
from linkage_node.errors import NodeError

# Every package's error base. Each has advice() and exit_code.
DOMAIN_ERRORS: tuple[type[Exception], ...] = (KeysError, ConsentError, NodeError)

err = Console(stderr=True, soft_wrap=True)


class _ErrorReportingGroup(TyperGroup):
    """Turns a domain error into its advice on stderr and its documented exit status."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click; its Context is private
        try:
            return super().invoke(ctx)
        except DOMAIN_ERRORS as exc:
            advice = exc.advice() if hasattr(exc, "advice") else str(exc)
            err.print(Text.assemble(("error: ", "bold red"), advice), highlight=False)
            raise typer.Exit(getattr(exc, "exit_code", 1)) from None


app = typer.Typer(
    cls=_ErrorReportingGroup,
    help="pprl-hub: privacy-preserving record linkage with a signed consent ledger.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# The ledger commands that read the hub's database live with its storage.
consent_app.command("verify")(consent_cli.verify)
consent_app.command("prove")(consent_cli.prove)

app.add_typer(node_app, name="node")
app.add_typer(consent_app, name="consent")
app.add_typer(hub_app, name="hub")
app.add_typer(keys_app, name="keys")


@app.command()
def demo(
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Empty or new directory for the demo's files (default: a temporary one)."
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="An empty database for the hub, e.g. postgresql+psycopg://... "
            "(default: SQLite in the work directory)."
        ),
    ] = None,
) -> None:
    """Run the whole story on synthetic data: five agencies, a hub on loopback, linkage,
    consent, a case manager's question, quality and overlap, the ledger verified."""
    from pprl.demo import run_demo

    run_demo(workdir, database_url=database_url)


def main() -> None:
    """Console-script entry point."""
    app()
