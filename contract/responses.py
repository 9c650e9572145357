"""Reading the hub's answers: a 2xx into the contract's models, anything else into the
error that says what went wrong (`contract.errors`)."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from contract.errors import HubCallError, HubRefused, NotAHub

Model = TypeVar("Model", bound=BaseModel)


def checked(response: httpx.Response, what: str) -> httpx.Response:
    if response.status_code >= 300:
        raise refusal(response, what)
    return response


def refusal(response: httpx.Response, what: str) -> HubCallError:
    status = response.status_code
    if status == 404 and not response.headers.get("content-type", "").startswith(
        "application/problem+json"
    ):
        return NotAHub(
            f"{response.request.url} is not a pprl hub address (404 without the hub's problem "
            "answer)",
            "Check the hub's URL (--hub or PPRL_HUB_URL): give its root, without a path.",
        )
    return HubRefused(
        status, detail_of(response), f"the hub refused {what}: {status} {detail_of(response)}"
    )


def detail_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if not isinstance(body, dict):
        return response.reason_phrase
    return str(body.get("detail") or body.get("title") or response.reason_phrase)


def retry_after(response: httpx.Response) -> float | None:
    """The hub's Retry-After in seconds, when it gave one as a number."""
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def read_json(response: httpx.Response, base_url: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise NotAHub(
            f"{base_url} answered with something other than JSON; is it the hub?",
            "Check the hub's URL (--hub or PPRL_HUB_URL).",
        ) from None


def read(response: httpx.Response, answer: type[Model], base_url: str) -> Model:
    try:
        return answer.model_validate(read_json(response, base_url))
    except ValidationError:
        raise NotAHub(
            f"{base_url} answered in a form this version does not read ({answer.__name__})",
            "Check the hub's URL, and that the node and the hub run the same release.",
        ) from None


def read_list(response: httpx.Response, item: type[Model], base_url: str) -> list[Model]:
    data = read_json(response, base_url)
    try:
        if not isinstance(data, list):
            raise TypeError
        return [item.model_validate(x) for x in data]
    except (TypeError, ValidationError):
        raise NotAHub(
            f"{base_url} answered in a form this version does not read (a list of {item.__name__})",
            "Check the hub's URL, and that the node and the hub run the same release.",
        ) from None
