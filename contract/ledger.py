"""The consent ledger: entries, checkpoints, cosignatures and proofs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from contract.types import RequestBody


class LedgerEntryIn(RequestBody):
    """One signed leaf, base64: canonical entry JSON, a newline, the signature."""

    leaf: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]*={0,2}$", max_length=16384)]


class LedgerEntryOut(BaseModel):
    index: int
    leaf_hash: str


class CheckpointOut(BaseModel):
    size: int
    root: str
    note: str = Field(description="The signed note, with every agency's cosignature line.")
    cosigned_by: list[str] = Field(
        default_factory=list, description="Agencies whose witnesses cosigned this checkpoint."
    )


class CosignatureIn(RequestBody):
    """An agency witness's C2SP cosignature line on a checkpoint it checked."""

    cosignature: Annotated[str, StringConstraints(min_length=1, max_length=400)]


class InclusionProofOut(BaseModel):
    index: int
    tree_size: int
    leaf_hash: str
    proof: list[str]


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    proof: list[str]


class WithheldOut(BaseModel):
    """An entry the caller is not a party to, as the hub's signed note about it."""

    index: int
    leaf_hash: str
    type: Literal["GRANT", "SUPERSEDE", "REVOKE", "ACCESS", "KEY", "POLICY"]
    ends: int | None = Field(description="The grant this entry ends (REVOKE, SUPERSEDE).")
    signature: str = Field(description="The hub's log key's signature over the note.")


class LedgerLeafOut(BaseModel):
    """An entry: its leaf when the caller is a party to it (auditors: always), else the
    hub's signed note in its place."""

    index: int
    leaf: str | None = None
    withheld: WithheldOut | None = None
