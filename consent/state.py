"""Replay: the consent state a log prefix implies, and the rules an append must pass.

`ConsentState` folds entries in index order. Before each entry is applied it is checked
against the state of the prefix before it: its signature against the key that was valid
at that index (keys come from the ledger's own KEY entries, anchored in the hub's log
key), and its meaning against earlier entries (a REVOKE must name a live grant of the
same agency, an ACCESS a grant that allowed it, and so on). The hub runs the same
checks on append that an auditor runs on `pprl consent verify`.

An agency node replays a *partial* state: it reads only the entries that involve its
agency and, for the others, a note signed by the hub saying what kind of entry it is and
which grant (if any) it ends (`consent.visibility`). In that state `skip` stands in for a
withheld entry, and references to withheld grants are taken on trust of the signature
alone (the auditor, who reads everything, checks their meaning).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from consent._internal.key_rules import KeyRules
from consent.entries import (
    Access,
    EntryRef,
    Grant,
    GrantTerms,
    KeyStatement,
    Policy,
    Revoke,
    Supersede,
)
from consent.errors import EntryInvalid, EntryRejected
from consent.fields import HUB_SIGNER
from consent.leaves import SignedEntry, parse_leaf
from keys import KeyRegistry, public_key_id


@dataclass
class GrantRecord:
    """A grant (or the replacement carried by a SUPERSEDE) as the state knows it."""

    index: int
    leaf_hash: bytes
    agency_id: str
    key_id: str
    made: datetime
    terms: GrantTerms
    ended_at_index: int | None = None
    ended_because: str | None = None

    def live_at_index(self, index: int) -> bool:
        """True if no REVOKE, SUPERSEDE or key compromise before `index` ended it."""
        return self.ended_at_index is None or index < self.ended_at_index


@dataclass
class ConsentState(KeyRules):
    """The state implied by a log prefix of `size` entries."""

    log_key: Ed25519PublicKey
    partial: bool = False
    size: int = 0
    registry: KeyRegistry = field(default_factory=KeyRegistry)
    grants: dict[int, GrantRecord] = field(default_factory=dict)
    program_owner: dict[str, str] = field(default_factory=dict)
    policy: Policy | None = None
    _by_target: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    _consent_ids: set[str] = field(default_factory=set)
    # key id -> (the agency key that approved adding it, when it was added)
    _approved_by: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    @property
    def log_key_id(self) -> str:
        """The `key_id` entries signed by the hub carry."""
        return public_key_id("ed25519", self.log_key.public_bytes_raw())

    def grants_for(self, program: str, record: str) -> list[GrantRecord]:
        """Grants ever recorded by `program` about its record `record`, oldest first."""
        return [self.grants[i] for i in self._by_target.get((program, record), [])]

    # --- appending ---------------------------------------------------------------------

    def skip(self, index: int, *, ends: int | None = None, because: str = "revoked") -> None:
        """A partial state passes over withheld entries up to and including `index`; the
        one at `index` ends grant `ends` (a REVOKE or SUPERSEDE the reader may not see)."""
        if not self.partial:
            raise EntryRejected(index, "only a partial replay may pass over an entry")
        if index < self.size:
            raise EntryRejected(index, f"the log holds {self.size} entries already")
        if ends is not None and ends < index:
            self._end(ends, index, because)
        self.size = index + 1

    def pass_over(self, size: int) -> None:
        """A partial state passes over entries that change nothing (withheld grants and
        ACCESS entries) up to `size`."""
        if not self.partial or size < self.size:
            raise EntryRejected(size, "only a partial replay may pass over entries forward")
        self.size = size

    def _hidden(self, index: int) -> bool:
        """In a partial state, an earlier entry this reader was not shown."""
        return self.partial and index < self.size and index not in self.grants

    def append(self, signed: SignedEntry) -> int:
        """Check and apply `signed` as the next entry; returns its index."""
        index = self.size
        self.check(index, signed)
        self._apply(index, signed)
        return index

    def check(self, index: int, signed: SignedEntry) -> None:
        """Raise EntryRejected unless `signed` may be entry `index` of this log."""
        if index != self.size:
            raise EntryRejected(
                index, f"the log holds {self.size} entries; expected index {self.size}"
            )
        entry = signed.entry
        self._check_signature(index, signed)
        if isinstance(entry, Grant):
            self._check_grant(index, entry.signer, entry.grant)
        elif isinstance(entry, Supersede):
            old = self._live_grant(index, entry.replaces, entry.signer)
            self._check_grant(index, entry.signer, entry.grant)
            if old is not None and (entry.grant.subject, entry.grant.disclosing_program) != (
                old.terms.subject,
                old.terms.disclosing_program,
            ):
                raise EntryRejected(index, "a replacement must be about the same record")
        elif isinstance(entry, Revoke):
            old = self._live_grant(index, entry.revokes, entry.signer)
            if old is not None and entry.consent_id != old.terms.consent_id:
                raise EntryRejected(index, "consent_id does not match the revoked grant")
        elif isinstance(entry, Access):
            self._check_access(index, entry)
        elif isinstance(entry, KeyStatement):
            self._check_key(index, entry)

    def _check_signature(self, index: int, signed: SignedEntry) -> None:
        entry = signed.entry
        if (
            isinstance(entry, KeyStatement)
            and entry.action in ("add_key", "recover_agency")
            and entry.signer != HUB_SIGNER
        ):
            raise EntryRejected(
                index,
                f"{entry.action} is recorded by the hub, on the operator's approval "
                "(a stolen agency key alone must not add keys)",
            )
        if entry.signer == HUB_SIGNER:
            if not isinstance(entry, Access | KeyStatement | Policy):
                raise EntryRejected(index, f"the hub cannot make a {entry.type} statement")
            if entry.key_id != self.log_key_id:
                raise EntryRejected(index, "signed by a key that is not the hub's log key")
            key = self.log_key
        else:
            if isinstance(entry, Access | Policy):
                raise EntryRejected(index, f"only the hub records {entry.type} entries")
            key = self._agency_key(index, entry.signer, entry.key_id, entry.made)
        try:
            key.verify(signed.signature, signed.entry_bytes)
        except InvalidSignature:
            raise EntryRejected(index, f"signature does not verify under {entry.key_id}") from None

    def _agency_key(self, index: int, agency: str, kid: str, made: datetime) -> Ed25519PublicKey:
        if agency not in self.registry:
            raise EntryRejected(index, "the signer is not an agency registered in the ledger")
        key = self.registry.agency(agency).key(kid)
        if key is None or key.kind != "ed25519":
            raise EntryRejected(index, f"{kid} is not a signing key of agency {agency}")
        # Revocation counts from its index on, whatever time the statement claims.
        if key.revoked_at is not None:
            raise EntryRejected(index, f"{kid} of agency {agency} was revoked")
        if made < key.valid_from:
            raise EntryRejected(index, f"{kid} was not registered yet when the statement was made")
        return Ed25519PublicKey.from_public_bytes(key.raw())

    def _check_grant(self, index: int, agency: str, terms: GrantTerms) -> None:
        if self.program_owner.get(terms.disclosing_program) != agency:
            # Unregistered values are never echoed: they may be PII typed in the wrong place.
            raise EntryRejected(index, f"disclosing_program is not a program of agency {agency}")
        unknown = [p for p in terms.recipient_programs if p not in self.program_owner]
        if unknown:
            position = terms.recipient_programs.index(unknown[0])
            raise EntryRejected(
                index, f"recipient_programs[{position}] is not a registered program"
            )
        if terms.consent_id in self._consent_ids:
            raise EntryRejected(index, "consent_id was already used by an earlier grant")

    def _live_grant(self, index: int, ref: EntryRef, agency: str) -> GrantRecord | None:
        if self._hidden(ref.index):
            return None
        grant = self.grants.get(ref.index)
        if grant is None or grant.leaf_hash.hex() != ref.leaf_hash:
            raise EntryRejected(index, f"entry {ref.index} is not a grant with that leaf hash")
        if grant.agency_id != agency:
            raise EntryRejected(index, "only the agency that recorded a grant can end it")
        if not grant.live_at_index(index):
            raise EntryRejected(index, f"grant {ref.index} already ended ({grant.ended_because})")
        return grant

    def _check_access(self, index: int, entry: Access) -> None:
        if entry.requester_program not in self.program_owner:
            raise EntryRejected(index, "requester_program is not a registered program")
        if entry.disclosing_program not in self.program_owner:
            raise EntryRejected(index, "disclosing_program is not a registered program")
        if entry.checkpoint_size > index:
            raise EntryRejected(index, "the checkpoint it cites is later than the entry")
        self._check_floor(index, entry)
        if entry.grant is None or self._hidden(entry.grant.index):
            return  # existence under the agreement; or (partial) a grant not shown
        grant = self.grants.get(entry.grant.index)
        if grant is None or grant.leaf_hash.hex() != entry.grant.leaf_hash:
            raise EntryRejected(index, f"entry {entry.grant.index} is not a grant with that hash")
        if entry.grant.index >= entry.checkpoint_size:
            raise EntryRejected(index, "the cited checkpoint does not include the grant")
        terms = grant.terms
        if (entry.disclosing_program, entry.subject) != (terms.disclosing_program, terms.subject):
            raise EntryRejected(index, "the grant is about another record")
        start, end = terms.effective
        allowed = (
            grant.live_at_index(index)
            and start <= entry.made < end
            and names_recipient(terms, entry.requester_program)
            and set(entry.data_classes) <= set(terms.data_classes)
            # A grant for the client's case manager only never covers a supervisor.
            and not (
                entry.purpose == "supervision" and terms.recipient_staff == "assigned_case_manager"
            )
        )
        if not allowed:
            raise EntryRejected(index, "the grant it cites did not allow this disclosure")

    def _check_floor(self, index: int, entry: Access) -> None:
        """Once a disclosure policy is on the ledger, every disclosure says which link it
        relied on, and no unconfirmed link under the floor is ever disclosed."""
        if self.policy is None:
            return
        if entry.purpose == "intake":
            score = entry.lookup.score_bp if entry.lookup else 0
            if score < self.policy.disclosure_floor_bp:
                raise EntryRejected(
                    index,
                    f"the intake lookup scores {score / 10_000:.4f}, under the disclosure "
                    f"floor {self.policy.disclosure_floor_bp / 10_000:.2f}",
                )
            return
        link = entry.link
        if link is None:
            raise EntryRejected(index, "a disclosure must name the link it relied on")
        if not link.confirmed_in_review and link.score_bp < self.policy.disclosure_floor_bp:
            raise EntryRejected(
                index,
                f"the link scores {link.score_bp / 10_000:.4f}, under the disclosure floor "
                f"{self.policy.disclosure_floor_bp / 10_000:.2f}, and was not confirmed in review",
            )

    # --- applying ----------------------------------------------------------------------

    def _apply(self, index: int, signed: SignedEntry) -> None:
        entry = signed.entry
        if isinstance(entry, Grant | Supersede):
            if isinstance(entry, Supersede):
                self._end(entry.replaces.index, index, "superseded")
            terms = entry.grant
            self.grants[index] = GrantRecord(
                index, signed.leaf_hash, entry.signer, entry.key_id, entry.made, terms
            )
            self._by_target.setdefault((terms.disclosing_program, terms.subject), []).append(index)
            self._consent_ids.add(terms.consent_id)
        elif isinstance(entry, Revoke):
            self._end(entry.revokes.index, index, "revoked")
        elif isinstance(entry, KeyStatement):
            self._apply_key(index, entry)
        elif isinstance(entry, Policy):
            self.policy = entry
        self.size = index + 1

    def _end(self, grant_index: int, at_index: int, because: str) -> None:
        grant = self.grants.get(grant_index)
        if grant is None:  # (partial) a grant this reader was not shown
            return
        if grant.ended_at_index is None:
            grant.ended_at_index, grant.ended_because = at_index, because


def names_recipient(terms: GrantTerms, program: str) -> bool:
    """True if the grant names `program` as a recipient, directly or by class."""
    return program in terms.recipient_programs or "any_linked_program" in terms.recipient_classes


def consent_state(leaves: Iterable[bytes | SignedEntry], log_key: Ed25519PublicKey) -> ConsentState:
    """The state a log prefix implies; raises EntryRejected/EntryInvalid at the first bad entry."""
    state = ConsentState(log_key=log_key)
    for leaf in leaves:
        signed = leaf if isinstance(leaf, SignedEntry) else _parse(state.size, leaf)
        state.append(signed)
    return state


def _parse(index: int, leaf: bytes) -> SignedEntry:
    try:
        return parse_leaf(leaf)
    except EntryInvalid as exc:
        raise EntryRejected(index, f"malformed: {exc}") from None
