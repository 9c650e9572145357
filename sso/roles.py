"""Which claims of the state's identities say who a person is here and what they may do.

Each deployment names them: the claim holding the staff id the agency's staff file uses
(`employee_id`, `sub`, ...), the claim holding groups or roles (a list or a string; a
dotted path such as `realm_access.roles` reaches into an object), and which of its values
give each role here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sso.errors import NoRoleHere


def _at(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


@dataclass(frozen=True)
class RoleMap:
    """Staff-id claim, role claim, and the claim values that give each role (checked in
    the order given: the first role a person holds is the one they sign in with)."""

    roles: Mapping[str, Sequence[str]]
    role_claim: str = "groups"
    staff_id_claim: str = "sub"

    @classmethod
    def parse(cls, text: str, *, role_claim: str, staff_id_claim: str) -> RoleMap:
        """From a setting: `{"supervisor": ["dcs-supervisors"], ...}`."""
        try:
            raw = json.loads(text)
        except ValueError:
            raise ValueError("the role mapping is not JSON") from None
        if not isinstance(raw, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(x, str) and x for x in v)
            for k, v in raw.items()
        ):
            raise ValueError('the role mapping is {"role": ["claim value", ...], ...}')
        return cls(
            roles={k: tuple(v) for k, v in raw.items()},
            role_claim=role_claim,
            staff_id_claim=staff_id_claim,
        )

    def staff_id(self, claims: Mapping[str, Any]) -> str:
        value = _at(claims, self.staff_id_claim)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not 0 < len(value) <= 64 or not value.isprintable():
            raise NoRoleHere(
                f"your sign-in does not carry a usable '{self.staff_id_claim}'",
                "Ask the state's identity team to add your staff id to your account.",
            )
        return value

    def granted(self, claims: Mapping[str, Any], allowed: Sequence[str]) -> list[str]:
        """The roles here (among `allowed`, in its order) that the claims give."""
        value = _at(claims, self.role_claim)
        held = (
            {value}
            if isinstance(value, str)
            else set(value or ())
            if isinstance(value, list)
            else set()
        )
        return [role for role in allowed if held & set(self.roles.get(role, ()))]

    def first_role(self, claims: Mapping[str, Any], allowed: Sequence[str], where: str) -> str:
        """The role a person signs in with here, or `NoRoleHere`."""
        roles = self.granted(claims, allowed)
        if not roles:
            raise NoRoleHere(
                f"you signed in, but your account has no role on {where}",
                "Ask your data steward to add you to the right group at the state's "
                "identity provider.",
            )
        return roles[0]
