"""`pprl`: the one command-line entry point.

Exit statuses: 0 ok, 1 failure, 2 usage error, 3 invalid input data, 4 the hub's consent
ledger went back or forked (a node's witness alarm). Every error is reported once, here
(`pprl.errors`): one `error:` line with advice, the traceback only with `--debug`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit, TyperException

from consent.cli import app as consent_app
from hub import consent_cli, history_cli, plan_alerts_cli, sign_in_cli
from hub.cli import app as hub_app
from keys.cli import app as keys_app
from linkage_node.cli import app as node_app
from pprl.errors import report
from pprl.help_style import plain_placeholders

err = Console(stderr=True, soft_wrap=True)

# Exceptions Typer turns into usage messages and exit statuses itself.
_CLICK_HANDLED = (TyperException, Exit, Abort)


def _debugging() -> bool:
    return os.environ.get("PPRL_DEBUG", "").lower() in ("1", "true", "yes")


class _ErrorReportingGroup(TyperGroup):
    """Turns any error into its advice on stderr and its documented exit status."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plain_placeholders(self)

    def invoke(self, ctx: Any) -> Any:  # typer vendors click; its Context is private
        try:
            return super().invoke(ctx)
        except _CLICK_HANDLED:
            raise
        except BrokenPipeError:
            # `pprl ... | head`: the reader left; say nothing more, as other tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            raise typer.Exit(141) from None
        except Exception as exc:
            found = report(exc)
            if not found.known and _debugging():
                raise
            err.print(Text.assemble(("error: ", "bold red"), found.message), highlight=False)
            if _debugging():
                err.print_exception()
            raise typer.Exit(found.exit_code) from None


app = typer.Typer(
    cls=_ErrorReportingGroup,
    help="pprl-hub: privacy-preserving record linkage with a signed consent ledger.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# The ledger commands that read the hub's database live with its storage.
consent_app.command("verify")(consent_cli.verify)
consent_app.command("prove")(consent_cli.prove)

app.add_typer(node_app, name="node")
app.add_typer(consent_app, name="consent")
hub_app.command("purge-history")(history_cli.purge_history)
hub_app.command("plan-alerts")(plan_alerts_cli.plan_alerts)
hub_app.command("sign-in")(sign_in_cli.sign_in)
app.add_typer(hub_app, name="hub")
app.add_typer(keys_app, name="keys")


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"pprl-hub {version('pprl-hub')}")
        raise typer.Exit


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", envvar="PPRL_DEBUG", help="Show the traceback when a command fails."
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """pprl-hub: privacy-preserving record linkage with a signed consent ledger."""
    if debug:
        # Read by the error report, which runs outside this callback.
        os.environ["PPRL_DEBUG"] = "1"


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
