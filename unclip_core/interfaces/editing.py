"""An editing operation: an image manipulation through the joint CLIP space.

An operation declares how users reach it, and core builds both entry points from that:

    class Recolor(EditingOperation):
        name = "recolor"                          # pipe.edit("recolor", image=..., ...)
        method = "recolor"                        # pipe.recolor(image, palette, n=2)
        arguments = ("image", "palette")
        command = "recolor"                       # unclip recolor IMAGE --palette P -n 2 -o out.png
        command_arguments = ("image",)
        layout = "strip"

Every field of `Config` and `Inputs` becomes a keyword of the method and an option of the
command, typed, defaulted and documented by the field itself; `command_line(...)` in a field's
`json_schema_extra` adjusts how one field looks on the command line. Every call also takes the
pipeline stages' sampling settings for that call (`decoder_options={"guidance_scale": 3}`, see
STAGE_OPTIONS), and every command `--set KEY=VALUE` overrides of the model's graph.
"""

from __future__ import annotations

import types
import typing
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from PIL.Image import Image
from pydantic import BaseModel, ConfigDict
from pydantic.fields import FieldInfo

from .component import Component, ComponentConfig

if TYPE_CHECKING:
    from ..pipeline import Pipeline

# How a command lays out several results in its one output file: a square grid, a strip (one
# row), or frames (a strip, plus `--gif PATH` to also write them as an animation).
Layout = Literal["grid", "strip", "frames"]
LAYOUTS: tuple[str, ...] = typing.get_args(Layout)
# Keywords every editing call takes besides its operation's own: the stages' sampling settings
# for that call (`Pipeline.with_options`), so no operation may have a field of these names.
STAGE_OPTIONS = ("prior_options", "decoder_options", "upsampler_options")


class EditInputs(BaseModel):
    """Base of an operation's typed inputs (images, prompts, masks)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


def command_line(
    *flags: str, metavar: str | list[str] | None = None, help: str | None = None, hidden: bool = False
) -> dict[str, Any]:
    """Command-line hints for one field, given as `Field(..., json_schema_extra=command_line(...))`.

    flags: the option's spellings instead of `--field-name` (e.g. "--from"; for a bool field that
    defaults to true, the flag that turns it off, e.g. "--fresh-noise"). metavar: the value's
    placeholder in --help. help: replaces the field's description in --help. hidden: leave the
    field out of the command (it stays a keyword of the Python method).
    """
    hints: dict[str, Any] = {}
    if flags:
        hints["flags"] = list(flags)
    if metavar is not None:
        hints["metavar"] = metavar
    if help is not None:
        hints["help"] = help
    if hidden:
        hints["hidden"] = True
    return {"command_line": hints}


def command_line_hints(field: FieldInfo) -> dict[str, Any]:
    """The hints `command_line(...)` put on a field ({} when none)."""
    extra = field.json_schema_extra
    return dict(extra.get("command_line", {})) if isinstance(extra, dict) else {}


def tuple_length(annotation: Any) -> int | None:
    """k for a fixed-length tuple annotation (`tuple[A, B]`, optionally `| None`), else None.

    Such a field, named in `arguments`, takes k positional values: `blend(a, b)` fills `images`.
    """
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if typing.get_origin(annotation) is not tuple:
        return None
    items = typing.get_args(annotation)
    return None if not items or Ellipsis in items else len(items)


class EditingOperation(Component, ABC):
    """Runs one kind of edit on a loaded pipeline and returns the resulting images.

    `Config` holds the operation's settings (eta, number of frames, ...); `Inputs` the
    per-call data.
    """

    kind: ClassVar[str] = "editing"
    Inputs: ClassVar[type[EditInputs]] = EditInputs

    # The Pipeline method (`pipe.<method>(...)`); None: the registry name.
    method: ClassVar[str | None] = None
    # The method's positional parameters, in order: names of Config or Inputs fields.
    arguments: ClassVar[tuple[str, ...]] = ()
    # The `unclip` subcommand; None: the method name with "-" for "_".
    command: ClassVar[str | None] = None
    # The command's positional arguments, in order; every other field is an --option.
    command_arguments: ClassVar[tuple[str, ...]] = ()
    layout: ClassVar[Layout] = "strip"

    def __init__(self, config: ComponentConfig) -> None:
        self.config = config

    @abstractmethod
    def apply(self, pipeline: Pipeline, inputs: EditInputs) -> list[Image]:
        """Perform the edit."""

    @classmethod
    def method_name(cls) -> str:
        return cls.method or cls.name

    @classmethod
    def command_name(cls) -> str:
        return cls.command or cls.method_name().replace("_", "-")

    @classmethod
    def option_fields(cls) -> dict[str, FieldInfo]:
        """Every option the operation takes: its Inputs' fields, then its Config's."""
        return {**cls.Inputs.model_fields, **cls.Config.model_fields}

    @classmethod
    def declaration_problems(cls) -> list[str]:
        """What is wrong with the declarations above (the registry refuses such a class)."""
        problems = []
        fields = cls.option_fields()
        for what, names in (("arguments", cls.arguments), ("command_arguments", cls.command_arguments)):
            for name in names:
                if name not in fields:
                    problems.append(f"`{what}` names '{name}', which is no field of its Config or Inputs")
            if len(set(names)) != len(names):
                problems.append(f"`{what}` names a field twice: {names}")
        if not cls.method_name().isidentifier() or cls.method_name().startswith("_"):
            problems.append(f"`method` must be a public Python identifier, not {cls.method_name()!r}")
        command = cls.command_name()
        if not command or command.startswith("-") or any(c.isspace() for c in command):
            problems.append(f"`command` must be one word not starting with '-', not {command!r}")
        for name in STAGE_OPTIONS:
            if name in fields:
                problems.append(f"a field may not be named '{name}': every editing call takes it for the pipeline's stages")
        if cls.layout not in LAYOUTS:
            problems.append(f"`layout` must be one of {', '.join(LAYOUTS)}, not {cls.layout!r}")
        return problems
