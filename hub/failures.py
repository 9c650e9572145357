"""The hub's error base: every error the hub's own code raises derives from `HubError`.

Kept apart from `hub.errors` (which maps errors to HTTP answers and imports the web
framework) so the linkage engine, the data cipher and the set-up checks can raise hub
errors without importing FastAPI.

Two kinds matter to the caller:
- a refusal of what was asked (a bad encodings file, an update that does not apply): the
  caller can fix it, and the message says how;
- an integrity fault (`IntegrityFault`): the hub's own stored data does not check out (a
  sealed value that no longer opens). Nothing the caller sent can fix it, so an API
  answers 500 and the fault is logged for the operators.
"""

from __future__ import annotations


class HubError(Exception):
    """Base for everything the hub refuses or detects: what is wrong, and the fix."""

    #: Process exit status the CLI uses: 1 failure, 2 usage, 3 invalid input data.
    exit_code = 1

    def __init__(self, what: str, fix: str = "", *, exit_code: int | None = None) -> None:
        super().__init__(what)
        self.fix = fix
        if exit_code is not None:
            self.exit_code = exit_code

    def advice(self) -> str:
        """What the person who sees this should do next."""
        return f"{self}. {self.fix}" if self.fix else str(self)


class IntegrityFault(HubError):
    """The hub's own stored data failed a check: a server fault, never the caller's."""
