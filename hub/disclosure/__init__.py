"""What a caller may be told about the records linked to one of theirs: decided from the
consent ledger, proven with inclusion proofs under signed checkpoints, and recorded as
ACCESS entries. `DisclosureEngine` is the one door; the client answer and the caseload
go through it."""

from hub.disclosure.engine import Asker, Checkpoint, DisclosureEngine
from hub.disclosure.levels import LEVELS, Disclosure, LinkedProgram
from hub.disclosure.links import HIGH_CONFIDENCE, LinkPath, confident_members

__all__ = [
    "HIGH_CONFIDENCE",
    "LEVELS",
    "Asker",
    "Checkpoint",
    "Disclosure",
    "DisclosureEngine",
    "LinkPath",
    "LinkedProgram",
    "confident_members",
]
