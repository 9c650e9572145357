"""/v1/agencies/{agency_id}/review: the review queue, as one agency's node sees it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from contract import ReviewAnswerIn, ReviewItemOut
from hub.auth import authorize_agency_node
from hub.deps import PrincipalDep, SessionDep
from hub.routes.api.agencies import AgencyId
from hub.services import review

router = APIRouter(prefix="/v1/agencies/{agency_id}/review", tags=["review"])
ItemId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


def _out(item: review.ReviewItem) -> ReviewItemOut:
    return ReviewItemOut(
        item_id=item.item_id,
        ref=item.ref,
        score=item.score,
        my_answer=item.my_answer,
        other_answered=item.other_answered,
        other_ref=item.other_ref,
    )


@router.get("", summary="Links of this agency's records in the review band")
def list_items(
    agency_id: AgencyId, session: SessionDep, principal: PrincipalDep
) -> list[ReviewItemOut]:
    """The agency's node only; each item shows the agency's own reference, never the
    other agency's."""
    authorize_agency_node(principal, agency_id)
    return [_out(item) for item in review.queue_for(session, agency_id)]


@router.post("/{item_id}", summary="Answer same, different or unsure for one item")
def answer_item(
    agency_id: AgencyId,
    item_id: ItemId,
    body: ReviewAnswerIn,
    session: SessionDep,
    principal: PrincipalDep,
) -> ReviewItemOut:
    """Two "same" answers confirm the link: it becomes disclosable."""
    authorize_agency_node(principal, agency_id)
    item = review.answer(
        session, agency_id=agency_id, item=item_id, value=body.answer, staff=principal.subject
    )
    session.commit()
    return _out(item)
