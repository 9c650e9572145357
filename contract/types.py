"""The value types every request and response of the hub API shares."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from keys import IDENTIFIER_PATTERN, STAFF_ID_PATTERN

RecordRef = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Base64 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]*={0,2}$", max_length=1024)]
# The same rules as the key library's, from the one place they are written.
StaffId = Annotated[str, StringConstraints(pattern=f"^{STAFF_ID_PATTERN}$")]
Identifier = Annotated[str, StringConstraints(pattern=f"^{IDENTIFIER_PATTERN}$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class RequestBody(BaseModel):
    """A request body: a field the hub does not know is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")
