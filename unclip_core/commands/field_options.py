"""Command-line arguments generated from an editing operation's pydantic fields.

Each field of the operation's Inputs and Config becomes one argument: its type picks the
argparse form, its description is the help, and its default is shown but never passed, so
the operation's own default applies whenever an option is left out. Fields named in
`command_arguments` are positional; `command_line(...)` hints adjust flags, metavar and help.
"""

from __future__ import annotations

import argparse
import types
import typing
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo

from ..errors import InputError, PluginError
from ..interfaces import EditingOperation
from ..interfaces.editing import command_line_hints, tuple_length

# Where parsed field values live in the namespace, apart from the command's own options.
PREFIX = "field_"
# Fields the command handles itself rather than as generated options.
COMMON_FIELDS = ("seed",)
# Types a command-line word can be converted to.
SCALARS: tuple[type, ...] = (str, int, float)
NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def add_field_arguments(parser: argparse.ArgumentParser, cls: type[EditingOperation], plugin: str) -> None:
    """Add one argument per field of `cls` that the command line can express."""
    fields = cls.option_fields()
    names = [*cls.command_arguments, *(n for n in fields if n not in cls.command_arguments)]
    for name in names:
        field = fields[name]
        hints = command_line_hints(field)
        if name in COMMON_FIELDS or hints.get("hidden"):
            continue
        try:
            if name in cls.command_arguments:
                _add_positional(parser, name, field, hints)
            else:
                _add_option(parser, name, field, hints)
        except (TypeError, argparse.ArgumentError, ValueError) as exc:
            raise PluginError(
                f"plugin '{plugin}': editing operation '{cls.name}' field '{name}' cannot become a command-line "
                f"argument ({exc}); give it a str, int, float, bool, Literal or tuple type and a free flag, "
                "or leave it off the command with json_schema_extra=command_line(hidden=True)"
            ) from None


def given_options(args: argparse.Namespace, cls: type[EditingOperation]) -> dict[str, Any]:
    """The field values the command line gave (left-out options are absent, not defaulted)."""
    options = {}
    for name, field in cls.option_fields().items():
        value = getattr(args, PREFIX + name, argparse.SUPPRESS)
        if value is argparse.SUPPRESS:
            continue
        length = tuple_length(field.annotation)
        if name in cls.command_arguments and length is not None:
            if not value:  # an optional spread field left out
                continue
            if len(value) != length:
                raise InputError(
                    f"give {_count(length)} {name} (got {len(value)}); "
                    f"`unclip {cls.command_name()} --help` shows what else it takes"
                )
        options[name] = tuple(value) if isinstance(value, list) else value
    return options


def _add_positional(parser: argparse.ArgumentParser, name: str, field: FieldInfo, hints: dict[str, Any]) -> None:
    length = tuple_length(field.annotation)
    if length is None:
        nargs, item = None, field.annotation
    else:
        # A tuple with a default may be left out entirely (another option replaces it); count checked later.
        nargs, item = (length if field.is_required() else "*"), _tuple_item(field.annotation)
    parser.add_argument(
        PREFIX + name, nargs=nargs, type=_word_type(item), metavar=hints.get("metavar", name),
        help=_help(field, hints), **({"default": []} if nargs == "*" else {}),
    )


def _add_option(parser: argparse.ArgumentParser, name: str, field: FieldInfo, hints: dict[str, Any]) -> None:
    annotation = _without_none(field.annotation)
    kwargs: dict[str, Any] = {"dest": PREFIX + name, "default": argparse.SUPPRESS, "help": _help(field, hints)}
    if annotation is bool:
        if field.is_required():
            kwargs.update(action=argparse.BooleanOptionalAction, required=True)
        else:
            kwargs["action"] = "store_false" if field.default else "store_true"
        default_flag = f"--no-{_dashed(name)}" if field.default is True else _flag(name)
        parser.add_argument(*hints.get("flags", [default_flag]), **kwargs)
        return
    length = tuple_length(field.annotation)
    if length is not None:
        kwargs.update(nargs=length, type=_word_type(_tuple_item(field.annotation)))
    elif typing.get_origin(annotation) in (tuple, list):
        kwargs.update(nargs="+", type=_word_type(typing.get_args(annotation)[0]))
    elif typing.get_origin(annotation) is typing.Literal:
        choices = typing.get_args(annotation)
        kwargs.update(choices=choices, type=type(choices[0]))
    else:
        kwargs["type"] = _word_type(annotation)
    if field.is_required():
        kwargs["required"] = True
    metavar = hints.get("metavar", name.upper())
    kwargs["metavar"] = tuple(metavar) if isinstance(metavar, list) else metavar
    parser.add_argument(*hints.get("flags", [_flag(name)]), **kwargs)


def _word_type(annotation: Any) -> type:
    """The type a command-line word converts to; pydantic then validates the value in full."""
    annotation = _without_none(annotation)
    if annotation in SCALARS:
        return annotation
    if typing.get_origin(annotation) is typing.Literal:
        return type(typing.get_args(annotation)[0])
    members = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else ()
    if str in members or Path in members:  # e.g. an image given as a file path
        return str
    raise TypeError(f"no command-line form for {annotation!r}")


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation
    members = [a for a in typing.get_args(annotation) if a is not type(None)]
    if len(members) == 1:
        return members[0]
    return typing.Union[tuple(members)]


def _tuple_item(annotation: Any) -> Any:
    items = set(typing.get_args(_without_none(annotation)))
    if len(items) != 1:
        raise TypeError(f"tuple items of one type only, not {annotation!r}")
    return items.pop()


def _help(field: FieldInfo, hints: dict[str, Any]) -> str | None:
    text = hints.get("help", field.description)
    if field.is_required() or field.default in (None, "") or isinstance(field.default, bool):
        return text  # nothing worth showing: no default, "none", or a flag
    shown = f"(default: {field.default})"
    return f"{text} {shown}" if text else shown


def _flag(name: str) -> str:
    return f"-{name}" if len(name) == 1 else f"--{_dashed(name)}"


def _dashed(name: str) -> str:
    return name.replace("_", "-")


def _count(n: int) -> str:
    return NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else str(n)
