"""Who may read which ledger entry, and the signed note that stands in for the rest.

The ledger pairs record references across agencies: an ACCESS entry names the record a
case manager asked about and the other program's record that was disclosed; a GRANT
names the programs a client agreed to share with. A third agency reading them would
learn which programs serve whose clients without ever being linked to them. So an
agency reads only the entries it is a party to:

- KEY and POLICY entries: everyone (the registry of public keys and the disclosure
  floor are public);
- GRANT and SUPERSEDE: the agency that recorded it and the agencies of the programs it
  names; a grant to a class of recipients ("any linked program") names no other party,
  so every agency may read it (it says only that one agency's opaque record consented);
- REVOKE: the parties of the grant it ends;
- ACCESS: the agency whose record was disclosed and the agency that asked.

Auditors read everything. In place of an entry it may not read, an agency gets a
`WithheldEntry`: the entry's index, leaf hash, type and the grant it ends (if any),
signed by the hub's log key. The leaf hash keeps the tree checkable; the type and the
grant ended let a node be sure no revocation of a grant it relies on was hidden from
it; and because the hub signed the note, a hub that hid a REVOKE behind a note saying
"GRANT" has signed evidence of its lie, which any auditor can compare with the entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature

from consent.checkpoints import LogKey, LogVerifier
from consent.entries import Access, AnyEntry, KeyStatement, Policy, Revoke, Supersede
from consent.errors import ProofInvalid
from consent.leaves import SignedEntry
from consent.state import ConsentState, GrantRecord
from keys import canonical

EntryType = Literal["GRANT", "SUPERSEDE", "REVOKE", "ACCESS", "KEY", "POLICY"]
_DOMAIN = b"pprl-withheld-entry/v1\n"


def audience(entry: AnyEntry, state: ConsentState) -> frozenset[str] | None:
    """The agencies that may read `entry` (None: every agency), given the state of the
    log it is in (which knows the grants it refers to and who runs each program)."""
    if isinstance(entry, KeyStatement | Policy):
        return None
    if isinstance(entry, Access):
        return _owners(state, [entry.disclosing_program, entry.requester_program])
    if isinstance(entry, Revoke):
        return _parties(state.grants.get(entry.revokes.index), entry.signer, state)
    parties = _grant_parties(
        entry.signer, entry.grant.recipient_programs, entry.grant.recipient_classes, state
    )
    if isinstance(entry, Supersede):
        earlier = _parties(state.grants.get(entry.replaces.index), entry.signer, state)
        if parties is None or earlier is None:
            return None
        return parties | earlier
    return parties


def may_read(entry: AnyEntry, state: ConsentState, agency_id: str) -> bool:
    """Whether `agency_id` is a party to `entry`."""
    who = audience(entry, state)
    return who is None or agency_id in who


def _owners(state: ConsentState, programs: Sequence[str]) -> frozenset[str]:
    return frozenset(state.program_owner[p] for p in programs if p in state.program_owner)


def _grant_parties(
    signer: str, programs: Sequence[str], classes: Sequence[str], state: ConsentState
) -> frozenset[str] | None:
    if classes:
        return None
    return frozenset({signer}) | _owners(state, programs)


def _parties(grant: GrantRecord | None, signer: str, state: ConsentState) -> frozenset[str] | None:
    if grant is None:  # cannot happen in a valid log; only the signer, to be safe
        return frozenset({signer})
    terms = grant.terms
    return _grant_parties(grant.agency_id, terms.recipient_programs, terms.recipient_classes, state)


def ends(entry: AnyEntry) -> int | None:
    """The index of the grant an entry ends (a REVOKE's or a SUPERSEDE's), else None."""
    if isinstance(entry, Revoke):
        return entry.revokes.index
    if isinstance(entry, Supersede):
        return entry.replaces.index
    return None


@dataclass(frozen=True)
class WithheldEntry:
    """What a reader who is not a party learns of an entry, signed by the hub."""

    index: int
    leaf_hash: bytes
    entry_type: EntryType
    ends: int | None
    signature: bytes

    @property
    def because(self) -> str:
        """How the grant it ends ended, in the words `ConsentState` uses."""
        return "superseded" if self.entry_type == "SUPERSEDE" else "revoked"

    def to_json(self) -> dict[str, Any]:
        """The note as the API carries it."""
        return {
            "index": self.index,
            "leaf_hash": self.leaf_hash.hex(),
            "type": self.entry_type,
            "ends": self.ends,
            "signature": canonical.b64encode(self.signature),
        }


def _message(index: int, leaf_hash: bytes, entry_type: str, ended: int | None) -> bytes:
    body = {"index": index, "leaf_hash": leaf_hash.hex(), "type": entry_type, "ends": ended}
    return _DOMAIN + canonical.canonical_json(body)


def withhold(index: int, signed: SignedEntry, log_key: LogKey) -> WithheldEntry:
    """The hub's signed note standing in for entry `index`."""
    entry = signed.entry
    ended = ends(entry)
    signature = log_key.sign(_message(index, signed.leaf_hash, entry.type, ended))
    return WithheldEntry(index, signed.leaf_hash, entry.type, ended, signature)


def open_withheld(doc: Mapping[str, Any], verifier: LogVerifier) -> WithheldEntry:
    """Parse and check a note from `WithheldEntry.to_json`; raises ProofInvalid."""
    try:
        index, leaf_hash = doc["index"], bytes.fromhex(doc["leaf_hash"])
        entry_type, ended = doc["type"], doc["ends"]
        signature = canonical.b64decode(doc["signature"])
    except (KeyError, TypeError, ValueError, canonical.EncodingError):
        raise ProofInvalid("a withheld-entry note is malformed") from None
    valid = (
        isinstance(index, int)
        and index >= 0
        and len(leaf_hash) == 32
        and entry_type in ("GRANT", "SUPERSEDE", "REVOKE", "ACCESS", "KEY", "POLICY")
        and (ended is None or (isinstance(ended, int) and 0 <= ended < index))
        and (ended is None) == (entry_type not in ("REVOKE", "SUPERSEDE"))
    )
    if not valid:
        raise ProofInvalid("a withheld-entry note is malformed")
    try:
        verifier.public_key.verify(signature, _message(index, leaf_hash, entry_type, ended))
    except InvalidSignature:
        raise ProofInvalid(f"the note withholding entry {index} is not signed by the hub") from None
    return WithheldEntry(index, leaf_hash, entry_type, ended, signature)


def as_read_by(
    agency_id: str | None, index: int, signed: SignedEntry, state: ConsentState, log_key: LogKey
) -> dict[str, Any]:
    """Entry `index` as `agency_id` may read it (None: an auditor, who reads every entry):
    `{"index", "leaf"}` in full, or `{"index", "withheld"}` with the hub's signed note."""
    if agency_id is None or may_read(signed.entry, state, agency_id):
        return {"index": index, "leaf": canonical.b64encode(signed.leaf)}
    return {"index": index, "withheld": withhold(index, signed, log_key).to_json()}
