"""`DisclosureEngine`: the one place that decides, proves and records what a caller may
be told about the records linked to one of theirs.

Every answer goes the same way: read the confident part of the cluster (`links`), take the
ledger's write lock and catch up on committed consent, decide each level (`levels`),
cover every grant relied on with a signed checkpoint and an inclusion proof, open what
may be shown (contacts, plans), and append the ACCESS entries in the caller's
transaction, so the disclosure and its record stand or fall together. The client answer
and the caseload use it; so will history, households and referrals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from consent import prove_grant
from consent.fields import DataClass
from contract.milestones import stuck_reason_code
from hub.crypto import DataCipher, contact_context, milestone_context
from hub.disclosure import record
from hub.disclosure.levels import LEVELS, Disclosure, LinkedProgram, decide_programs
from hub.disclosure.links import LinkPath, Record, enrollment_dates, linked_records
from hub.disclosure.record import Purpose
from hub.errors import Unavailable
from hub.linkage.lookup import Candidate
from hub.models import Assignment, Milestone
from hub.services import policy
from hub.services.ledger import HubLedger, latest_checkpoint, stored_leaf
from hub.services.plans import PlanItem
from hub.services.registry import programs_by_agency
from hub.settings import HubSettings


@dataclass(frozen=True)
class Asker:
    """Who asks, about which of their own agency's records, and why when it is not their
    own client: `supervision` for a supervisor asking about a client of their team,
    `family` for a case manager asking about their client's family member."""

    agency_id: str
    staff: str
    purpose: Purpose | None = None


@dataclass(frozen=True)
class Checkpoint:
    """The signed checkpoint an answer's proofs are under."""

    size: int
    note: str


class DisclosureEngine:
    """Decide, prove and record disclosures with one hub's ledger, data key and policy.
    Methods write to the caller's session and never commit."""

    def __init__(self, ledger: HubLedger, cipher: DataCipher | None, settings: HubSettings) -> None:
        self.ledger = ledger
        self._cipher = cipher
        self.settings = settings

    @property
    def cipher(self) -> DataCipher:
        """The data key, for opening contacts and plans (existence needs none)."""
        if self._cipher is None:
            raise Unavailable("the hub has no data key configured (PPRL_DATA_KEY_FILE)")
        return self._cipher

    # --- what is linked, and what may be said -------------------------------------------

    def linked(self, session: Session, agency_id: str, ref: str) -> dict[Record, LinkPath]:
        """The other agencies' records confidently linked to `ref`. Read before `begin`:
        only deciding needs the ledger's write lock."""
        return linked_records(session, agency_id, ref, floor=policy.floor_of(self.settings))

    def begin(self, session: Session) -> None:
        """Take the ledger's write lock and catch up on committed consent, so decisions
        are made on it and the ACCESS entries that follow are appended in order."""
        self.ledger.sync_as_writer(session)
        policy.ensure_recorded(self.ledger, session, self.settings)

    def requester_programs(self, session: Session, agency_id: str) -> list[str]:
        """The asking agency's programs, in order (any one of them may be the basis)."""
        return programs_by_agency(session).get(agency_id, [])

    def decide(
        self,
        session: Session,
        agency_id: str,
        linked: dict[Record, LinkPath],
        *,
        at: datetime,
        levels: tuple[DataClass, ...] = LEVELS,
        supervision: bool = False,
        existence_by_agreement: bool | None = None,
    ) -> list[LinkedProgram]:
        """The linked programs `agency_id` may be told exist, with `levels` decided
        (`supervision`: for a supervisor of the client's case manager;
        `existence_by_agreement`: instead of the hub's existence policy)."""
        if existence_by_agreement is None:
            existence_by_agreement = self.settings.existence_policy == "agreement"
        programs = programs_by_agency(session)
        decided = decide_programs(
            self.ledger.state,
            linked,
            programs,
            programs.get(agency_id, []),
            levels=levels,
            at=at,
            existence_by_agreement=existence_by_agreement,
            supervision=supervision,
        )
        dates = enrollment_dates(session, [(e.agency_id, e.ref) for e in decided])
        for entry in decided:
            enrolled_on, exited_on = dates.get((entry.agency_id, entry.ref), (None, None))
            entry.enrolled_on = enrolled_on
            if exited_on is not None:
                entry.close_as_history(exited_on)
        return decided

    # --- proofs -------------------------------------------------------------------------

    def prove(self, session: Session, programs: list[LinkedProgram]) -> Checkpoint | None:
        """The latest signed checkpoint (signing a new one if a grant relied on is newer),
        with each grant's leaf and inclusion proof attached to the levels that used it."""
        used = [level for entry in programs for level in entry.allowed()]
        needed = max(
            (level.grant_index + 1 for level in used if level.grant_index is not None),
            default=1 if programs else 0,
        )
        if needed == 0:
            return None
        latest = latest_checkpoint(session)
        if latest is None or latest[0] < needed:
            self.ledger.issue_checkpoint(session)
            latest = latest_checkpoint(session)
        if latest is None or latest[0] < needed:
            raise Unavailable("no checkpoint covers the consent relied on; try again")
        checkpoint = Checkpoint(*latest)
        proofs = {}
        for level in used:
            if level.grant_index is None:
                continue
            if level.grant_index not in proofs:
                proofs[level.grant_index] = prove_grant(
                    level.grant_index,
                    stored_leaf(session, level.grant_index),
                    self.ledger.tree,
                    checkpoint.note,
                    self.ledger.log_key.verifier,
                )
            level.proof = proofs[level.grant_index]
        return checkpoint

    # --- what is shown ------------------------------------------------------------------

    def open_details(self, session: Session, entry: LinkedProgram) -> None:
        """Open the contact and plan `entry`'s levels allow; a contact level with no case
        manager assigned becomes withheld, saying so."""
        if entry.levels["contact"].allowed:
            assignment = session.get(Assignment, (entry.agency_id, entry.ref))
            if assignment is None:
                entry.levels["contact"] = Disclosure(
                    "contact",
                    False,
                    f"{entry.program} has no case manager assigned to this client",
                    why="no_case_manager",
                )
            else:
                entry.case_manager_id = assignment.case_manager_id
                context = contact_context(entry.agency_id, entry.ref)
                entry.contact = json.loads(self.cipher.open(assignment.contact, context))
        if entry.levels["plan"].allowed:
            entry.plan = self.plan_items(session, entry.agency_id, entry.ref, entry.program)

    def plan_items(
        self, session: Session, agency_id: str, ref: str, program: str
    ) -> list[PlanItem]:
        """The milestones stored for one record, opened."""
        rows = session.execute(
            select(Milestone).where(
                col(Milestone.agency_id) == agency_id, col(Milestone.ref) == ref
            )
        ).scalars()
        items = []
        for row in rows:
            fields = json.loads(
                self.cipher.open(row.plan, milestone_context(agency_id, ref, row.milestone_id))
            )
            if "stuck_reason" in fields:  # text an older node sent is shown as `other`
                fields["stuck_reason"] = stuck_reason_code(fields["stuck_reason"])
            items.append(PlanItem(program, row.milestone_id, fields, row.updated_at))
        return items

    # --- the record ---------------------------------------------------------------------

    def record(
        self,
        session: Session,
        asker: Asker,
        ref: str,
        entry: LinkedProgram,
        *,
        at: datetime,
        checkpoint: Checkpoint,
    ) -> None:
        """ACCESS entries for what `entry` shows `asker` about their record `ref`."""
        record.record_access(
            self.ledger,
            session,
            entry,
            staff=asker.staff,
            requester_record=ref,
            at=at,
            checkpoint_size=checkpoint.size,
            window=self.settings.access_dedup_seconds,
            purpose=asker.purpose,
        )

    def intake(
        self, session: Session, asker: Asker, matches: list[Candidate], *, at: datetime
    ) -> list[LinkedProgram]:
        """The programs an intake worker may be told serve a person matching their typed
        identifiers (existence only, each on its basis), proven and recorded."""
        best: dict[Record, float] = {}
        for match in matches:
            key = (match.agency, match.ref)
            best[key] = max(best.get(key, 0.0), match.score)
        floor = policy.floor_of(self.settings)
        linked = {key: LinkPath(score, False, 0, floor) for key, score in best.items()}
        self.begin(session)
        programs = self.decide(session, asker.agency_id, linked, at=at, levels=("existence",))
        checkpoint = self.prove(session, programs)
        for entry in programs:
            if checkpoint is not None:
                record.record_intake(
                    self.ledger,
                    session,
                    entry,
                    staff=asker.staff,
                    at=at,
                    checkpoint_size=checkpoint.size,
                )
        return programs

    def record_existence(
        self,
        session: Session,
        asker: Asker,
        shown: list[tuple[str, LinkedProgram]],
        *,
        at: datetime,
    ) -> None:
        """ACCESS entries for the existence disclosures in `shown` (record, program)
        never shown to `asker` before: a list reopened adds nothing to the ledger."""
        fresh = record.first_shown(session, asker.agency_id, asker.staff, shown)
        if not fresh:
            return
        checkpoint = self.prove(session, [entry for _, entry in fresh])
        if checkpoint is None:  # pragma: no cover  (there are disclosures to cover)
            raise Unavailable("no checkpoint covers the disclosures; try again")
        record.record_existence(
            self.ledger,
            session,
            agency_id=asker.agency_id,
            staff=asker.staff,
            fresh=fresh,
            at=at,
            checkpoint_size=checkpoint.size,
            purpose=asker.purpose,
        )
