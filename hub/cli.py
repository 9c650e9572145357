"""`pprl hub ...`: operate the hub."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Operate the hub.", no_args_is_help=True)
err = Console(stderr=True)


@app.command("migrate")
def migrate(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="PPRL_DATABASE_URL",
            help="SQLAlchemy URL [default: the hub setting, sqlite:///pprl-hub.db].",
        ),
    ] = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Bring the hub database schema up to date (run before starting the hub)."""
    # Imported here: SQLAlchemy and Alembic take a second to import, and every other
    # `pprl` command would pay for it.
    from hub import migrate as migrations
    from hub.db import create_db_engine
    from hub.settings import get_settings

    engine = create_db_engine(database_url or get_settings().database_url)
    try:
        before = migrations.current_revision(engine)
        migrations.upgrade(engine, revision)
        after = migrations.current_revision(engine)
    finally:
        engine.dispose()
    err.print(f"database schema at revision {after} (was {before or 'empty'})")
