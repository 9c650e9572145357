"""One error report for every `pprl` command.

A user's ordinary mistake (a missing file, the hub down, a bad setting, a database that
was never migrated) becomes one `error:` line with advice and a documented exit status;
anything else becomes its type name and a pointer to `--debug`. Messages never carry the
values that caused them: a setting's value, a row's content or a database URL's password
could hold PII or secrets.

Exit statuses (README "Exit codes"): 0 ok, 1 failure, 2 usage error (including a missing
or unreadable file named on the command line, and an invalid setting), 3 invalid input
data, 4 the hub's consent ledger went back or forked.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from consent.errors import ConsentError
from contract.errors import HubCallError
from hub.failures import HubError
from keys.errors import KeysError
from linkage_node.errors import NodeError

# Every package's error base. Each has advice() and exit_code.
DOMAIN_ERRORS: tuple[type[Exception], ...] = (
    KeysError,
    ConsentError,
    NodeError,
    HubError,
    HubCallError,
)

USAGE = 2

# Where a settings class reads its fields from, to name the variable to fix.
_SETTINGS_PREFIX = {"HubSettings": "PPRL_", "NodeWebSettings": "PPRL_NODE_"}


@dataclass(frozen=True)
class Report:
    """What to print and the exit status."""

    message: str
    exit_code: int
    known: bool = True  # False: an unexpected fault, whose traceback --debug shows


def _domain_errors() -> tuple[type[Exception], ...]:
    # Sign-in errors only once `sso` was imported (it loads Authlib: no cost for --help).
    sso = sys.modules.get("sso.errors")
    return (*DOMAIN_ERRORS, sso.SsoError) if sso is not None else DOMAIN_ERRORS


def report(exc: BaseException) -> Report:
    """The one-line report of an exception raised by a command."""
    if isinstance(exc, _domain_errors()):
        advice = exc.advice() if hasattr(exc, "advice") else str(exc)
        return Report(advice, getattr(exc, "exit_code", 1))
    for describe in (_file_error, _network_error, _settings_error, _database_error):
        found = describe(exc)
        if found is not None:
            return found
    return Report(
        f"unexpected {type(exc).__name__}. Run the command again with --debug (or "
        "PPRL_DEBUG=1) to see where, and report it with that output",
        1,
        known=False,
    )


def _file_error(exc: BaseException) -> Report | None:
    if not isinstance(exc, OSError) or exc.filename is None:
        return None
    reasons = {
        FileNotFoundError: ("does not exist", "Check the path"),
        IsADirectoryError: ("is a folder, not a file", "Give the path of a file"),
        NotADirectoryError: ("has a file where a folder was expected", "Check the path"),
        PermissionError: ("cannot be opened (permission denied)", "Check who owns it"),
    }
    what, fix = reasons.get(type(exc), (f"cannot be used ({exc.strerror})", "Check the path"))
    return Report(f"{exc.filename} {what}. {fix}", USAGE)


def _network_error(exc: BaseException) -> Report | None:
    # Only loaded modules can have raised their exceptions: no import cost for --help.
    httpx = sys.modules.get("httpx")
    if httpx is None or not isinstance(exc, httpx.TransportError):
        return None
    where = "the hub"
    try:
        url = exc.request.url
        where = f"{url.scheme}://{url.host}{f':{url.port}' if url.port else ''}"
    except RuntimeError:  # no request attached
        pass
    return Report(
        f"cannot reach {where} ({type(exc).__name__}). Check --hub (PPRL_HUB_URL) and that "
        "the hub is running, then run the command again",
        1,
    )


def _settings_error(exc: BaseException) -> Report | None:
    pydantic = sys.modules.get("pydantic")
    if pydantic is None or not isinstance(exc, pydantic.ValidationError):
        return None
    prefix = _SETTINGS_PREFIX.get(exc.title, "PPRL_")
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        fields = [str(part) for part in error["loc"]]
        name = f"{prefix}{'_'.join(fields).upper()}" if fields else "the settings"
        problems.append(f"{name}: {error['msg']}")
    return Report(f"invalid setting ({'; '.join(problems)}). Fix it and start again", USAGE)


def _database_error(exc: BaseException) -> Report | None:
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is None or not isinstance(exc, sqlalchemy_exc.DBAPIError):
        return None
    # The driver's message can quote a statement's parameters: name the kind of fault only.
    return Report(
        f"the hub database refused the command ({type(exc.orig).__name__}). Check "
        "--database-url (PPRL_DATABASE_URL), run `pprl hub migrate`, and try again",
        1,
    )
