"""Issuing an agency's token: what the verifier would refuse is never issued."""

from __future__ import annotations

from datetime import timedelta

import pytest

from keys import MalformedDocument, Role, issue_token
from tests.factories import agencies


@pytest.mark.parametrize(
    ("roles", "lifetime", "subject", "match"),
    [
        ([], timedelta(minutes=5), "cm-1", "at least one role"),
        ([Role.HUB_OPERATOR], timedelta(minutes=5), "cm-1", "may grant only"),
        ([Role.CASE_MANAGER], timedelta(hours=2), "cm-1", "lifetime"),
        ([Role.CASE_MANAGER], timedelta(minutes=5), "Jane Doe", "staff id"),
    ],
)
def test_issuing_refuses_tokens_the_verifier_would_refuse(
    roles: list[Role], lifetime: timedelta, subject: str, match: str
) -> None:
    ids, _ = agencies("DCFS")
    with pytest.raises(MalformedDocument, match=match):
        issue_token(
            ids["DCFS"], subject=subject, audience="pprl-hub", roles=roles, lifetime=lifetime
        )
