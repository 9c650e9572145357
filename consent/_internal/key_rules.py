"""The rules of KEY statements, as `ConsentState` checks and applies them.

Registration is the hub's; an agency revokes its own keys or the hub does; new keys are
recorded by the hub on the operator's approval and with the agency's own approval
signed by a key it still holds; recovery re-keys an agency that lost every signing key.
A key revoked as compromised takes with it every key it approved after the leak, and
everything those keys signed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from consent.entries import KeyStatement, key_request_message
from consent.errors import EntryRejected
from consent.fields import HUB_SIGNER, parse_timestamp
from keys import AgencyPublicKeys, KeyRegistry, KeysError, RegisteredKey, canonical

if TYPE_CHECKING:
    from consent.state import GrantRecord

# An agency's request for a new key must reach the operator and the ledger within this.
MAX_APPROVAL_AGE = timedelta(days=30)


class KeyRules:
    """Mixed into `ConsentState`: the KEY statements' checks and effects."""

    registry: KeyRegistry
    program_owner: dict[str, str]
    grants: dict[int, GrantRecord]
    # key id -> (the agency key that approved adding it, when it was added)
    _approved_by: dict[str, tuple[str, datetime]]
    _agency_key: Callable[[int, str, str, datetime], Ed25519PublicKey]
    _end: Callable[[int, int, str], None]

    def _check_key(self, index: int, entry: KeyStatement) -> None:
        if entry.signer not in (HUB_SIGNER, entry.agency_id):
            raise EntryRejected(index, "only the hub or the agency itself can change its keys")
        if entry.action == "register_agency":
            if entry.signer != HUB_SIGNER:
                raise EntryRejected(index, "only the hub registers agencies")
            self._registration(index, entry)
            return
        if entry.agency_id not in self.registry:
            raise EntryRejected(index, "agency_id is not a registered agency")
        record = self.registry.agency(entry.agency_id)
        if entry.action in ("add_key", "recover_agency"):
            if entry.action == "add_key":
                self._check_approval(index, entry)
            elif any(k.kind == "ed25519" and k.revoked_at is None for k in record.keys):
                raise EntryRejected(
                    index,
                    f"agency {entry.agency_id} still holds a signing key: it approves new keys "
                    "itself (add_key); recovery is only for an agency that lost every key",
                )
            elif not any(k.kind == "ed25519" for k in entry.keys or []):
                raise EntryRejected(index, "a recovery must give the agency a signing key")
            for new in entry.keys or []:
                if any(new.key_id == k.key_id for r in self.registry for k in r.keys):
                    raise EntryRejected(index, f"key {new.key_id} is already registered")
                self._registered_key(index, new.model_dump(), entry.made)
        else:
            old = record.key(entry.revoked_key_id or "")
            if old is None or old.revoked_at is not None:
                raise EntryRejected(
                    index, f"{entry.revoked_key_id} is not a live key of the agency"
                )

    def _check_approval(self, index: int, entry: KeyStatement) -> None:
        approval = entry.approval
        if approval is None:  # pragma: no cover - the entry model requires it
            raise EntryRejected(index, "add_key carries the agency's approval")
        requested = parse_timestamp(approval.requested_at)
        if entry.made - requested > MAX_APPROVAL_AGE:
            raise EntryRejected(index, "the agency's request is too old; ask it for a new one")
        key = self._agency_key(index, entry.agency_id, approval.key_id, requested)
        message = key_request_message(
            entry.agency_id, [k.model_dump() for k in entry.keys or []], approval.requested_at
        )
        try:
            key.verify(canonical.b64decode(approval.signature), message)
        except (InvalidSignature, canonical.EncodingError):
            raise EntryRejected(
                index, f"the agency's approval does not verify under {approval.key_id}"
            ) from None

    def _registration(self, index: int, entry: KeyStatement) -> AgencyPublicKeys:
        if entry.agency_id in self.registry:
            raise EntryRejected(index, f"agency {entry.agency_id} is already registered")
        taken = [p for p in entry.programs or [] if p in self.program_owner]
        if taken:
            raise EntryRejected(index, f"program {taken[0]} belongs to another agency")
        by_kind = {k.kind: k for k in entry.keys or []}
        if len(entry.keys or []) != 2 or set(by_kind) != {"ed25519", "x25519"}:
            raise EntryRejected(index, "registration carries one ed25519 and one x25519 key")
        try:
            return AgencyPublicKeys.from_json(_public_doc(entry), "KEY statement")
        except KeysError as exc:
            raise EntryRejected(index, str(exc)) from None

    def _registered_key(self, index: int, data: dict[str, object], made: datetime) -> RegisteredKey:
        try:
            return RegisteredKey.model_validate({**data, "valid_from": made})
        except ValidationError as exc:
            raise EntryRejected(index, f"key: {exc.errors()[0]['msg']}") from None

    def _apply_key(self, index: int, entry: KeyStatement) -> None:
        if entry.action == "register_agency":
            doc = self._registration(index, entry)
            self.registry.register(doc, entry.made)
            for program in doc.programs:
                self.program_owner[program] = doc.agency_id
        elif entry.action in ("add_key", "recover_agency"):
            for new in entry.keys or []:
                self.registry.add_key(
                    entry.agency_id, self._registered_key(index, new.model_dump(), entry.made)
                )
                if entry.approval is not None:
                    self._approved_by[new.key_id] = (entry.approval.key_id, entry.made)
        else:
            kid = entry.revoked_key_id or ""
            old = self.registry.agency(entry.agency_id).key(kid)
            if old is None:  # pragma: no cover - check() refused it
                raise EntryRejected(index, f"{kid} is not a key of {entry.agency_id}")
            since = parse_timestamp(entry.compromised_since) if entry.compromised_since else None
            self.registry.revoke(entry.agency_id, kid, max(since or entry.made, old.valid_from))
            if since is not None:
                self._compromised(index, entry.agency_id, kid, since)

    def _compromised(self, index: int, agency: str, kid: str, since: datetime) -> None:
        """Whoever held a leaked key could sign anything with it after `since`: those
        grants stop counting, and so does every key it approved after `since` (and every
        key those approved), from the moment each was added, with all they signed."""
        for grant in self.grants.values():
            if grant.key_id == kid and grant.made >= since:
                self._end(grant.index, index, "its signing key was compromised")
        frontier = [kid]
        while frontier:
            parent = frontier.pop()
            for child, (approver, added) in self._approved_by.items():
                if approver != parent or added < since:
                    continue
                key = self.registry.agency(agency).key(child)
                if key is None or (key.revoked_at is not None and key.revoked_at <= key.valid_from):
                    continue
                self.registry.revoke(agency, child, key.valid_from)
                for grant in self.grants.values():
                    if grant.key_id == child:
                        self._end(grant.index, index, "a compromised key approved its signing key")
                frontier.append(child)


def _public_doc(entry: KeyStatement) -> bytes:
    by_kind = {k.kind: k for k in entry.keys or []}
    return canonical.canonical_json(
        {
            "type": "pprl.agency-public-keys.v1",
            "agency_id": entry.agency_id,
            "programs": sorted(entry.programs or []),
            "signing_key_id": by_kind["ed25519"].key_id,
            "signing_public_key": by_kind["ed25519"].public_key,
            "sealing_key_id": by_kind["x25519"].key_id,
            "sealing_public_key": by_kind["x25519"].public_key,
            "created_at": entry.made_at,
        }
    )
