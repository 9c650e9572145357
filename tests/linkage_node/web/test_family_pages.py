"""The client page's "Family" section (issue 21): the household the agency lists, each
member's programs named only on their own consent and checked against the witnessed
ledger, a call to action for the others, and a parent's form that also covers the
children of the household."""

from __future__ import annotations

from pathlib import Path

from tests.hub.api.factories import (
    KID,
    Api,
    family_scenario,
    mother_consents,
)
from tests.linkage_node.web.conftest import FAMILY, Node, make_node


def _node(api: Api, tmp_path: Path) -> Node:
    family_scenario(api)
    return make_node(api, tmp_path, directory=FAMILY)


def test_the_family_section_names_the_household_and_asks_for_consent(
    api: Api, tmp_path: Path
) -> None:
    pages = _node(api, tmp_path).sign_in()
    page = pages.get("/clients/DCFS-K")
    assert page.status_code == 200, page.text
    family = page.text.split('id="family"')[1].split("</section>")[0]
    assert "Rosalind Baptiste" in family
    assert "listed as family: DCFS does not serve them" in family
    assert "Marisol Baptiste</strong>, child (a minor)" in family
    # Nothing named without consent, and the page says how to get it.
    assert "corrections" not in family
    assert "juvenile justice" not in family
    assert "ask them (or, for a child, a parent or guardian) to sign" in family
    # The client is a minor: the consent form offers a parent's or guardian's signature.
    assert '<option value="guardian" selected>' in page.text


def test_a_members_consent_names_their_program_verified_by_the_node(
    api: Api, tmp_path: Path
) -> None:
    node = _node(api, tmp_path)
    mother_consents(api)
    page = node.sign_in().get("/clients/DCFS-K")
    family = page.text.split('id="family"')[1].split("</section>")[0]
    mother = family.split("Rosalind Baptiste")[1].split("</li>")[0]
    assert "Also served by <strong>corrections</strong>" in mother
    assert "on their consent" in mother
    assert "Consent verified" in family


def test_a_client_in_no_household_has_no_family_section(api: Api, tmp_path: Path) -> None:
    family_scenario(api)
    node = make_node(
        api, tmp_path, directory=[(KID, "DCFS-K", "Teo Baptiste", "2012-07-21", "cm-0001")]
    )
    page = node.sign_in().get("/clients/DCFS-K")
    assert page.status_code == 200
    assert 'id="family"' not in page.text
