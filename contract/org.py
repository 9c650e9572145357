"""An agency's org structure as its node sends it: who reports to whom.

A supervisor's access to clients follows this chain: a client of anyone who reports to
them, directly or through others. Staff ids are the agency's own ids (the ones its tokens
and assignments carry); names and contact details are not part of it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, model_validator

from contract.types import RequestBody, ShortText, StaffId

MAX_STAFF = 20_000


class StaffIn(RequestBody):
    staff_id: StaffId
    supervisor_id: StaffId | None = Field(
        default=None, description="Who they report to (a staff id in the same list)."
    )
    office: ShortText | None = None
    unit: ShortText | None = None


class OrgStructureIn(RequestBody):
    """The whole org structure: it replaces what the hub held."""

    staff: list[StaffIn] = Field(max_length=MAX_STAFF)

    @model_validator(mode="after")
    def _a_tree(self) -> OrgStructureIn:
        """Every supervisor is listed, nobody twice, and nobody reports to themselves
        through any chain (the problem names the staff ids, which are not client data)."""
        ids = [s.staff_id for s in self.staff]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})[:5]
            raise ValueError(f"staff listed twice: {', '.join(twice)}")
        above = {s.staff_id: s.supervisor_id for s in self.staff}
        unknown = sorted({b for b in above.values() if b is not None and b not in above})
        if unknown:
            raise ValueError(f"supervisors not in the list: {', '.join(unknown[:5])}")
        settled: set[str] = set()  # staff whose chain is known to end at the top
        for start in above:
            path: list[str] = []
            on_path: set[str] = set()
            at: str | None = start
            while at is not None and at not in settled:
                if at in on_path:
                    raise ValueError(f"{at} is in a reporting loop")
                path.append(at)
                on_path.add(at)
                at = above[at]
            settled.update(path)
        return self


class OrgStructureOut(BaseModel):
    agency_id: str
    staff: int = Field(description="Staff members held now.")
    supervisors: int = Field(description="Of them, those with someone reporting to them.")
    updated_at: datetime
