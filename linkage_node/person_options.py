"""The command-line options that name a person at intake (`pprl node lookup`, `pprl node
provisional add`): what the person gives, as they give it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from linkage_node.intake import Identifiers

Given = Annotated[str, typer.Option(help="Given name as the person gives it.")]
Family = Annotated[str, typer.Option(help="Family name.")]
Dob = Annotated[str, typer.Option(metavar="YYYY-MM-DD", help="Date of birth.")]
Ssn = Annotated[str, typer.Option(help="SSN, if the person gives it.")]
Sex = Annotated[str, typer.Option(help="Sex code, if known.")]
Zip = Annotated[str, typer.Option("--zip", help="ZIP code, if known.")]
Phone = Annotated[str, typer.Option(help="Phone number, if known.")]


def person(
    given: str, family: str, dob: str, *, ssn: str, sex: str, zip_code: str, phone: str
) -> Identifiers:
    """The identifiers the options give."""
    from linkage_node.intake import Identifiers

    return Identifiers(given, family, dob, sex=sex, ssn=ssn, zip=zip_code, phone=phone)
