"""The relying party's own pieces: the way back, the pending sign-in cookie, roles."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from sso import NoRoleHere, PendingSignIn, RoleMap, safe_next
from sso.relying_party import PENDING_SECONDS

KEY = b"k" * 32


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ("/clients/DCFS-1?tab=plan", "/clients/DCFS-1?tab=plan"),
        ("//evil.example/x", "/home"),
        ("https://evil.example/", "/home"),
        ("/\\evil.example", "/home"),
        ("/x\r\nSet-Cookie: a=b", "/home"),
        ("", "/home"),
        ("caseload", "/home"),
    ],
)
def test_the_way_back_is_a_local_path_only(asked: str, expected: str) -> None:
    assert safe_next(asked, "/home") == expected


def pending(**changes: object) -> PendingSignIn:
    base = PendingSignIn("s", "n", "v", "/caseload", int(time.time()))
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_pending_sign_in_is_tamper_evident_and_short_lived() -> None:
    packed = pending().pack(KEY)
    assert PendingSignIn.unpack(KEY, packed) == pending(started=pending().started)
    assert PendingSignIn.unpack(b"x" * 32, packed) is None
    body, mac = packed.split(".")
    assert PendingSignIn.unpack(KEY, f"{body}x.{mac}") is None
    old = pending(started=int(time.time()) - PENDING_SECONDS - 1).pack(KEY)
    assert PendingSignIn.unpack(KEY, old) is None
    assert PendingSignIn.unpack(KEY, None) is None


ROLES = RoleMap.parse(
    '{"supervisor": ["sup"], "case_manager": ["cm"]}',
    role_claim="realm_access.roles",
    staff_id_claim="employee_id",
)


def test_roles_come_from_the_configured_claim_in_the_configured_order() -> None:
    claims = {"employee_id": 1042, "realm_access": {"roles": ["cm", "sup", "other"]}}
    assert ROLES.staff_id(claims) == "1042"
    assert ROLES.first_role(claims, ("supervisor", "case_manager"), "here") == "supervisor"
    assert ROLES.first_role(claims, ("case_manager", "supervisor"), "here") == "case_manager"
    single = {"employee_id": "a", "realm_access": {"roles": "cm"}}
    assert ROLES.first_role(single, ("supervisor", "case_manager"), "here") == "case_manager"


@pytest.mark.parametrize(
    "claims",
    [
        {"employee_id": "a", "realm_access": {"roles": ["other"]}},
        {"employee_id": "a", "realm_access": "cm"},
        {"employee_id": "a"},
    ],
)
def test_no_mapped_value_means_no_role(claims: dict[str, object]) -> None:
    with pytest.raises(NoRoleHere, match="no role on here"):
        ROLES.first_role(claims, ("supervisor", "case_manager"), "here")


@pytest.mark.parametrize("value", [None, "", "x" * 65, "a\nb", ["a"], True])
def test_a_missing_or_odd_staff_id_is_refused(value: object) -> None:
    with pytest.raises(NoRoleHere, match="employee_id"):
        ROLES.staff_id({"employee_id": value})


@pytest.mark.parametrize("text", ["not json", "[]", '{"cm": "x"}', '{"cm": [1]}', '{"cm": [""]}'])
def test_a_bad_mapping_is_named(text: str) -> None:
    with pytest.raises(ValueError, match="role mapping"):
        RoleMap.parse(text, role_claim="g", staff_id_claim="s")


def test_pprl_reports_a_sign_in_failure_in_one_line_with_its_advice() -> None:
    from pprl.errors import report
    from sso import SignInRejected

    found = report(
        SignInRejected("the sign-in provider refused a token (invalid_client)", "Check the id")
    )
    assert (found.known, found.exit_code) == (True, 1)
    assert found.message == "the sign-in provider refused a token (invalid_client). Check the id"


def test_an_issuer_that_is_not_https_is_a_setting_to_fix() -> None:
    from pprl.errors import report
    from sso import BadIssuer, OpenIdProvider

    with pytest.raises(BadIssuer) as refused:
        OpenIdProvider("http://idp.example.gov")
    found = report(refused.value)
    assert (found.known, found.exit_code) == (True, 2)
    assert "is not an https:// URL" in found.message
