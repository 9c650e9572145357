"""Consent at the agency: record a signed form as a GRANT, list what is on file, revoke.

The node signs with the agency's key and appends through the hub's ledger API; what it
lists comes from its own witnessed view of the ledger (every entry checked to add up to
a checkpoint signed by the pinned log key), never from the hub's word alone.

Recording is idempotent: the same form makes the same consent id
(`linkage_node.consent_terms`), which the desk finds on the ledger before appending.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time

from consent import (
    GrantRecord,
    GrantTerms,
    format_timestamp,
    sign_entry,
    validate_entry,
)
from consent.errors import EntryInvalid
from contract.client import HubClient
from contract.errors import HubRefused
from keys import AgencyIdentity, canonical
from linkage_node.consent_forms import FormOnFile
from linkage_node.consent_terms import (
    RECIPIENT_CLASSES,
    ConsentForm,
    ConsentFormInvalid,
    canonical_grant_id,
    consent_terms,
    derived_uuid,
    grant_id,
)
from linkage_node.errors import NodeError
from linkage_node.refs import RefKey
from linkage_node.state import NodeState
from linkage_node.witness import NodeWitness

_RECIPIENT = re.compile(r"recipient_programs\[(\d+)\] is not a registered program")


class ConsentRefused(NodeError):
    """The hub's ledger refused the statement (its reason names no value)."""


@dataclass(frozen=True)
class Recorded:
    """The outcome of recording or ending a grant."""

    grant_id: str
    consent_id: str
    ledger_index: int
    already: bool = False  # it was on the ledger before this call
    replaces: str | None = None  # the grant id it superseded or revoked


@dataclass(frozen=True)
class GrantOnFile:
    """A grant the agency recorded, as its node's witnessed history holds it."""

    grant_id: str
    consent_id: str
    ledger_index: int
    record_id: str | None
    ref: str
    program: str
    status: str  # effective, not_yet_effective, expired, revoked, superseded, ended
    ended_at_index: int | None
    ended_because: str | None
    recipients: tuple[str, ...]
    data_classes: tuple[str, ...]
    signer: str
    signed_at: str
    effective_from: str
    expires_at: str
    form_version: str | None
    collected_by: str
    form_on_file: bool
    form_sha256: str
    purposes: tuple[str, ...]
    basis: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        """The fields `--json` prints."""
        out = dict(self.__dict__)
        for name in ("recipients", "data_classes", "purposes", "basis"):
            out[name] = list(getattr(self, name))
        return out


class ConsentDesk:
    """One agency's consent operations against the hub, checked by its own witness."""

    def __init__(
        self,
        identity: AgencyIdentity,
        state: NodeState,
        ref_key: RefKey,
        witness: NodeWitness,
        ledger: HubClient,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.identity = identity
        self.state = state
        self.ref_key = ref_key
        self.witness = witness
        self.ledger = ledger
        self._clock = clock or (lambda: datetime.now(UTC))
        self._registered: dict[str, str] | None = None

    # --- recording ----------------------------------------------------------------------

    def record(
        self,
        form: ConsentForm,
        *,
        recorded_by: str,
        form_file: str | None = None,
        replaces: str | None = None,
        refresh: bool = True,
    ) -> Recorded:
        """Put `form` on the ledger as a GRANT (a SUPERSEDE of grant `replaces` when
        given); a form already recorded is found and nothing is appended. Without
        `refresh` the caller witnessed the ledger just before (a bulk import) and
        witnesses it again at the end."""
        terms = self.prepare(form)
        ref = terms.subject
        old = self.find(replaces) if replaces else None
        if old is not None and old.terms.subject != ref:
            raise ConsentFormInvalid("replaces", f"{replaces} is about another client")
        on_file = FormOnFile(
            terms.consent_id,
            form.record_id,
            ref,
            form.form_sha256,
            form_file,
            format_timestamp(self._clock()),
            recorded_by,
        )
        self.state.consent_forms.remember(on_file)
        fields: dict[str, object] = {"type": "SUPERSEDE" if old else "GRANT"}
        if old is not None:
            fields["replaces"] = {"index": old.index, "leaf_hash": old.leaf_hash.hex()}
        index, already = self._append(terms, fields, refresh=refresh)
        if refresh and not already:
            self.witness.run(self.ledger)
        return Recorded(
            grant_id(terms.consent_id),
            terms.consent_id,
            index,
            already,
            grant_id(old.terms.consent_id) if old else None,
        )

    def record_for_family(
        self,
        form: ConsentForm,
        minors: list[str],
        *,
        recorded_by: str,
        form_file: str | None = None,
    ) -> list[Recorded]:
        """A form signed by a parent or guardian (`form.record_id`) for themselves and
        for the listed minors (`family_forms`), every one checked before any is recorded."""
        forms = self.family_forms(form, minors)
        return [self.record(f, recorded_by=recorded_by, form_file=form_file) for f in forms]

    def family_forms(self, form: ConsentForm, minors: list[str]) -> list[ConsentForm]:
        """The forms one parent's signature makes: one per listed minor, signed by the
        guardian, and the signer's own when this agency serves them (a parent listed as
        family only is not a client here, so nothing is recorded about them). Each minor
        must be one (under 18 on the signing day, by the roster's date of birth), and
        each form must make a grant (`prepare`); raises ConsentFormInvalid otherwise."""
        forms = []
        signer = self.state.client(form.record_id)
        if not minors or signer is None or not signer.member_only:
            forms.append(form)
        for position, minor in enumerate(minors):
            found = self.state.client(minor)
            if found is None:
                raise ConsentFormInvalid(
                    f"for_minors[{position}]",
                    "is not on this node's current roster",
                    "Check the case number; a child not exported yet is recorded after the "
                    "next export.",
                )
            if not is_minor(found.date_of_birth, form.signed_on):
                raise ConsentFormInvalid(
                    f"for_minors[{position}]",
                    "is not a minor on the signing day",
                    "An adult signs their own form: record it with --record-id.",
                )
            forms.append(replace(form, record_id=minor, signer="guardian"))
        for each in forms:
            self.prepare(each)
        return forms

    def prepare(self, form: ConsentForm) -> GrantTerms:
        """The grant `form` makes, its recipients checked against the programs the hub
        has registered; raises ConsentFormInvalid naming the field. A family member
        listed without being served, and a minor signing for themselves, are refused."""
        found = self.state.client(form.record_id)
        if found is not None and found.member_only:
            raise ConsentFormInvalid(
                "record",
                "is listed as family only: this agency does not serve them",
                "Record the form at the program that serves them, or list them as a client.",
            )
        if (
            found is not None
            and form.signer == "client"
            and is_minor(found.date_of_birth, form.signed_on)
        ):
            raise ConsentFormInvalid(
                "signer",
                "the client is a minor on the signing day: a parent or guardian signs",
                "Record it with --signer guardian (or --for-minors on the parent's form).",
            )
        program = self._program(form.program)
        if self._registered is None:
            self._registered = self.ledger.programs()
        for position, recipient in enumerate(form.recipients):
            if RECIPIENT_CLASSES.get(recipient, recipient) == "any_linked_program":
                continue
            if recipient not in self._registered:
                raise self._unregistered(position)
        ref = self.ref_of(form.record_id)
        return consent_terms(form, ref=ref, disclosing_program=program, key=self.ref_key)

    def revoke(
        self,
        grant: str,
        *,
        recorded_by: str,
        effective: date | None = None,
        reason: str = "client_request",
    ) -> Recorded:
        """End grant `grant` now (a REVOKE), or at the start of a later day `effective`
        (a SUPERSEDE with the same terms that expires then)."""
        old = self.find(grant)
        if not old.live_at_index(self.witness.grants_of(self.identity.agency_id)[1]):
            raise ConsentFormInvalid("grant", f"{grant} already ended ({old.ended_because})")
        today = self._clock().date()
        if effective is not None and effective < today:
            raise ConsentFormInvalid(
                "effective",
                "a revocation cannot take effect in the past",
                "Disclosures made before today were allowed by the consent then; "
                "revoke from today (leave out --effective).",
            )
        if effective is not None and effective > today:
            return self._end_later(old, effective, recorded_by)
        fields = {
            "type": "REVOKE",
            "revokes": {"index": old.index, "leaf_hash": old.leaf_hash.hex()},
            "consent_id": old.terms.consent_id,
            "reason": reason,
        }
        index = self._sign_and_append(fields)
        self.witness.run(self.ledger)
        return Recorded(grant_id(old.terms.consent_id), old.terms.consent_id, index)

    def _end_later(self, old: GrantRecord, effective: date, recorded_by: str) -> Recorded:
        end = datetime.combine(effective, time(0), tzinfo=UTC)
        if end >= old.terms.effective[1]:
            raise ConsentFormInvalid(
                "effective", "the consent expires by then anyway", "Nothing to revoke."
            )
        data = old.terms.model_dump(mode="json", exclude_none=True)
        data["expires_at"] = format_timestamp(end)
        data.pop("consent_id")
        data["consent_id"] = derived_uuid(self.ref_key, canonical.canonical_json(data))
        terms = GrantTerms.model_validate(data)
        known = self.state.consent_forms.get(old.terms.consent_id)
        record_id = known.record_id if known else self.state.record_id_of(old.terms.subject)
        self.state.consent_forms.remember(
            FormOnFile(
                terms.consent_id,
                record_id or "",
                terms.subject,
                terms.form_sha256,
                known.form_file if known else None,
                format_timestamp(self._clock()),
                recorded_by,
            )
        )
        replaces = {"index": old.index, "leaf_hash": old.leaf_hash.hex()}
        index, _ = self._append(terms, {"type": "SUPERSEDE", "replaces": replaces})
        self.witness.run(self.ledger)
        return Recorded(
            grant_id(terms.consent_id),
            terms.consent_id,
            index,
            replaces=grant_id(old.terms.consent_id),
        )

    def _append(
        self, terms: GrantTerms, fields: dict[str, object], *, refresh: bool = True
    ) -> tuple[int, bool]:
        """Append a GRANT/SUPERSEDE for `terms` unless the ledger holds it: (index, already)."""
        found = self._by_consent_id(terms.consent_id, refresh=refresh)
        if found is not None:
            return found.index, True
        grant = terms.model_dump(mode="json", exclude_none=True)
        try:
            return self._sign_and_append({**fields, "grant": grant}), False
        except ConsentRefused:
            # Appended by a run that died before it heard the answer: it is there now.
            found = self._by_consent_id(terms.consent_id, refresh=True)
            if found is None:
                raise
            return found.index, True

    def _sign_and_append(self, fields: Mapping[str, object]) -> int:
        try:
            entry = validate_entry(
                {
                    "v": 1,
                    "signer": self.identity.agency_id,
                    "key_id": self.identity.signing_key_id,
                    "made_at": format_timestamp(self._clock()),
                    **fields,
                }
            )
        except EntryInvalid as exc:  # the form's dates against today
            raise ConsentFormInvalid("signed_on", exc.rule) from None
        leaf = canonical.b64encode(sign_entry(entry, self.identity).leaf)
        try:
            return self.ledger.append(leaf).index
        except HubRefused as refused:
            if refused.status not in {409, 422}:  # refused for what it says
                raise
            recipient = _RECIPIENT.search(refused.detail)
            if recipient is not None:
                raise self._unregistered(int(recipient[1])) from None
            raise ConsentRefused(
                f"the ledger refused the statement: {refused.detail}",
                "Check the form's recipients and dates; nothing was recorded.",
            ) from None

    # --- reading ------------------------------------------------------------------------

    def on_file(self, record_id: str | None = None, *, refresh: bool = True) -> list[GrantOnFile]:
        """Every grant the agency recorded (or those about one case number), newest last."""
        if refresh:
            self.witness.run(self.ledger)
        grants, size = self.witness.grants_of(self.identity.agency_id)
        forms = self.state.consent_forms.all()
        wanted = None if record_id is None else self.ref_of(record_id)
        now = self._clock()
        out = []
        for g in grants:
            if wanted is not None and g.terms.subject != wanted:
                continue
            known = forms.get(g.terms.consent_id)
            out.append(_on_file(g, known, self.state.record_id_of(g.terms.subject), size, now))
        return out

    def ref_of(self, record_id: str) -> str:
        """The reference the hub knows the case number by: the directory's, or (a client
        not exported yet) the one the next export will give it."""
        found = self.state.client(record_id)
        return found.ref if found is not None else self.ref_key.ref(record_id)

    def find(self, text: str) -> GrantRecord:
        """The agency's grant with grant id (or consent id) `text`."""
        wanted = canonical_grant_id(text)
        grants, _ = self.witness.grants_of(self.identity.agency_id)
        if not grants:
            self.witness.run(self.ledger)
            grants, _ = self.witness.grants_of(self.identity.agency_id)
        for g in grants:
            if g.terms.consent_id == text.strip().lower() or grant_id(g.terms.consent_id) == wanted:
                return g
        raise ConsentFormInvalid(
            "grant",
            "no grant of this agency has that id",
            "Use a grant id from `pprl node consent list` (G-XXXXX-XXXXX).",
        )

    def _by_consent_id(self, consent_id: str, *, refresh: bool) -> GrantRecord | None:
        if refresh:
            self.witness.run(self.ledger)
        grants, _ = self.witness.grants_of(self.identity.agency_id)
        return next((g for g in grants if g.terms.consent_id == consent_id), None)

    def _unregistered(self, position: int) -> ConsentFormInvalid:
        others = sorted(set(self._registered or {}) - set(self.identity.programs))
        return ConsentFormInvalid(
            "to",
            f"recipient {position + 1} is not a program registered at the hub",
            f"Registered programs: {', '.join(others) or 'none'}.",
        )

    def _program(self, wanted: str | None) -> str:
        programs = self.identity.programs
        if wanted is None and len(programs) == 1:
            return programs[0]
        if wanted in programs:
            return wanted
        raise ConsentFormInvalid(
            "program",
            "name the program of yours the client consents to share from"
            if wanted is None
            else "is not a program of this agency",
            f"Give --program, one of: {', '.join(programs)}.",
        )


ADULT_AGE = 18


def is_minor(date_of_birth: str, on: date) -> bool:
    """Whether someone born on `date_of_birth` (ISO, or empty: unknown) is under 18 on
    `on`. An unknown date of birth is not taken for a minor's."""
    if not date_of_birth:
        return False
    born = date.fromisoformat(date_of_birth)
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return years < ADULT_AGE


def _on_file(
    g: GrantRecord, known: FormOnFile | None, record_id: str | None, size: int, now: datetime
) -> GrantOnFile:
    terms = g.terms
    start, end = terms.effective
    if not g.live_at_index(size):
        status = {"revoked": "revoked", "superseded": "superseded"}.get(
            g.ended_because or "", "ended"
        )
    elif now < start:
        status = "not_yet_effective"
    elif now >= end:
        status = "expired"
    else:
        status = "effective"
    return GrantOnFile(
        grant_id=grant_id(terms.consent_id),
        consent_id=terms.consent_id,
        ledger_index=g.index,
        record_id=record_id or (known.record_id if known else None),
        ref=terms.subject,
        program=terms.disclosing_program,
        status=status,
        ended_at_index=g.ended_at_index,
        ended_because=g.ended_because,
        recipients=(*terms.recipient_programs, *terms.recipient_classes),
        data_classes=tuple(terms.data_classes),
        signer=terms.signer_type,
        signed_at=terms.signed_at,
        effective_from=terms.effective_from,
        expires_at=terms.expires_at,
        form_version=terms.form_version,
        collected_by=terms.collected_by,
        form_on_file=bool(known and known.form_file),
        form_sha256=terms.form_sha256,
        purposes=tuple(terms.purposes),
        basis=tuple(terms.regulatory_basis),
    )
