"""Plain placeholders in `--help`.

Typer 0.29 prints Python types as placeholders (`<bool>` after every flag, `<list[Path]>`,
`<str>`); people reading `pprl node encode -h` expect the usual words (PATH, TEXT,
INTEGER, FILES...) and nothing after a flag. Choices keep Typer's `<a|b|c>` rendering.
Applied once to the whole command tree when the root group is built.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, get_args

from typer.core import TyperArgument, TyperOption

_WORDS: dict[Any, str] = {
    str: "TEXT",
    int: "INTEGER",
    float: "NUMBER",
    Path: "PATH",
    datetime: "DATE",
    date: "DATE",
}


def plain_placeholders(command: Any) -> None:
    """Give every parameter below `command` a plain placeholder."""
    for param in getattr(command, "params", ()):
        word = _placeholder(param)
        if word is None:
            continue
        param.metavar = word
        if isinstance(param, TyperArgument):
            # An argument's type column ignores its metavar: show the word there too.
            shown = f"{word}..." if param.nargs != 1 else word
            param.display_type_rich = _constant(shown)  # type: ignore[method-assign]
    if hasattr(command, "get_help_option"):
        command.get_help_option = _plain_help_option(command.get_help_option)
    for sub in getattr(command, "commands", {}).values():
        plain_placeholders(sub)


def _placeholder(param: Any) -> str | None:
    if isinstance(param, TyperOption) and param.is_flag:
        return ""
    if not isinstance(param, TyperOption | TyperArgument):
        return None
    desc = param.type_descriptor
    if desc.is_choice:
        return None
    element = get_args(desc.annotation)[0] if desc.is_list else desc.annotation
    word = "PATH" if desc.is_path else _WORDS.get(element, "VALUE")
    if isinstance(param, TyperArgument) and param.name:
        word = param.name.upper()
    return word


def _constant(text: str) -> Any:
    def display_type_rich(ctx: Any) -> str:
        return text

    return display_type_rich


def _plain_help_option(make: Any) -> Any:
    def get_help_option(ctx: Any) -> Any:
        option = make(ctx)
        if option is not None:
            option.metavar = ""
        return option

    return get_help_option
