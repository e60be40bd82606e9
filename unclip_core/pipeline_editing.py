"""The Pipeline's editing methods, one per registered editing operation.

An operation registered as "recolor" that declares `method = "recolor"` and
`arguments = ("image", "palette")` is callable as

    pipe.recolor("cat.png", "sepia", n=2)     # = pipe.edit("recolor", image="cat.png", palette="sepia", n=2)

Nothing here names an operation: the methods are looked up in the registry when called, so a
third-party operation gets its method just by being registered. Keyword options go to the
operation's `Config` or its `Inputs`, whichever declares them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import torch
from PIL.Image import Image
from pydantic import ValidationError

from .errors import ConfigError, InputError, PluginError
from .graph import validate_model
from .interfaces import EditingOperation, EditInputs
from .interfaces.editing import STAGE_OPTIONS, tuple_length

ImageSource = Union[Image, str, Path]


@dataclass(frozen=True)
class PreparedEdit:
    """An operation built from its validated Config, with validated Inputs: ready to apply."""

    operation: EditingOperation
    inputs: EditInputs

    def apply(self, pipeline: Any) -> list[Image]:
        """The edited images. A stage that could not sample with its sampler is refused first,
        so an edit never fails half-way for it."""
        pipeline.check_samplers()
        with torch.no_grad():
            return self.operation.apply(pipeline, self.inputs)


def prepare_edit(operation: str | type[EditingOperation], options: Mapping[str, Any]) -> PreparedEdit:
    """Validate options against the operation's Config and Inputs (no pipeline needed yet)."""
    from .plugins import get_registry

    cls = get_registry().get("editing", operation) if isinstance(operation, str) else operation
    config_keys, input_keys = set(cls.Config.model_fields), set(cls.Inputs.model_fields)
    unknown = sorted(set(options) - config_keys - input_keys)
    if unknown:
        raise ConfigError(
            f"editing operation '{cls.name}' has no option {', '.join(map(repr, unknown))}; "
            f"it takes: {', '.join(sorted(config_keys | input_keys))}"
        )
    config = validate_model(cls.Config, {k: v for k, v in options.items() if k in config_keys}, cls.name)
    try:
        inputs = cls.Inputs.model_validate({k: v for k, v in options.items() if k in input_keys})
    except ValidationError as exc:
        raise InputError(f"{cls.name}: {_first_problem(exc)}") from None
    return PreparedEdit(cls(config), inputs)


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    message = error["msg"].removeprefix("Value error, ")  # a validator's own sentence needs no prefix
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {message}" if where else message


def call_options(cls: type[EditingOperation], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The options of `pipe.<method>(*args, **kwargs)`: positional values named by `cls.arguments`.

    A fixed-length tuple field takes as many positional values as it has items; left out
    entirely (all None), it keeps its default.
    """
    method, fields = cls.method_name(), cls.option_fields()
    slots = [(name, tuple_length(fields[name].annotation)) for name in cls.arguments]
    capacity = sum(length or 1 for _, length in slots)
    if len(args) > capacity:
        raise TypeError(f"{method}() takes {capacity} positional arguments but {len(args)} were given")
    options = dict(kwargs)
    rest = list(args)
    for name, length in slots:
        if not rest:
            break
        taken, rest = rest[: length or 1], rest[length or 1:]
        if name in options:
            raise TypeError(f"{method}() got multiple values for argument '{name}'")
        if length is None:
            options[name] = taken[0]
        elif any(value is not None for value in taken):
            options[name] = tuple(taken) + (None,) * (length - len(taken))
    return options


def editing_methods(owner: type) -> dict[str, type[EditingOperation]]:
    """Method name -> operation class, for every registered editing operation of `owner` (Pipeline)."""
    from .plugins import get_registry

    methods: dict[str, tuple[type[EditingOperation], str]] = {}
    for entry in get_registry().entries():
        if entry.kind != "editing":
            continue
        name = entry.cls.method_name()
        if hasattr(owner, name):
            raise PluginError(
                f"editing operation '{entry.name}' (plugin '{entry.plugin}') declares the method '{name}', "
                f"which {owner.__name__} already has; give the operation another `method`"
            )
        if name in methods:
            other, plugin = methods[name]
            raise PluginError(
                f"two editing operations claim the Pipeline method '{name}': '{other.name}' (plugin '{plugin}') "
                f"and '{entry.name}' (plugin '{entry.plugin}'); uninstall one or restrict UNCLIP_LOAD_PLUGINS"
            )
        methods[name] = (entry.cls, entry.plugin)
    return {name: cls for name, (cls, _) in methods.items()}


class EditingMethods:
    """Mixed into Pipeline: `edit(name, **options)`, and one method per editing operation."""

    def edit(self, operation: str, **options: Any) -> list[Image]:
        """Run the editing operation registered as `operation`; returns a list of PIL images.

        Besides the operation's own options, `prior_options`, `decoder_options` and
        `upsampler_options` set stages' sampling settings for this call, as in `generate`.
        """
        settings = [options.pop(key, None) for key in STAGE_OPTIONS]
        prepared = prepare_edit(operation, options)
        return prepared.apply(self.with_options(*settings))  # type: ignore[attr-defined]  # Pipeline's

    def __getattr__(self, name: str) -> Callable[..., list[Image]]:
        # Only reached for names the Pipeline does not define itself, so a registered method
        # can never shadow a real attribute.
        if name.startswith("_"):
            raise AttributeError(name)
        cls = editing_methods(type(self)).get(name)
        if cls is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return _bound_method(self, cls)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *editing_methods(type(self))})


def _bound_method(pipeline: EditingMethods, cls: type[EditingOperation]) -> Callable[..., list[Image]]:
    def method(*args: Any, **kwargs: Any) -> list[Image]:
        return pipeline.edit(cls.name, **call_options(cls, args, kwargs))

    positional = ", ".join(cls.arguments)
    keywords = ", ".join([*(name for name in cls.option_fields() if name not in cls.arguments), *STAGE_OPTIONS])
    method.__name__ = method.__qualname__ = cls.method_name()
    method.__doc__ = (
        f"{cls.summary()}\n\n{cls.method_name()}({positional}{', ' if positional else ''}**options) runs the editing "
        f"operation '{cls.name}'; options: {keywords}. Returns a list of PIL images."
    )
    return method
