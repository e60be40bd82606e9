"""The hooks a plugin implements. Decorate implementations with `unclip_core.hookimpl`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import pluggy

hookspec = pluggy.HookspecMarker("unclip")
hookimpl = pluggy.HookimplMarker("unclip")

# register(cls): adds one component class (an Encoder, Prior, Sampler, ... subclass).
RegisterComponent = Callable[[type], None]
# register(name, folder): adds one named, ready-to-load pipeline folder.
RegisterModel = Callable[[str, Path], None]


class RegisterCommand(Protocol):
    """register(name, run, help=..., arguments=...): adds the subcommand `unclip <name>`."""

    def __call__(
        self,
        name: str,
        run: Callable[[argparse.Namespace], None],
        *,
        help: str,
        arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    ) -> None: ...


@hookspec
def unclip_register_components(register: RegisterComponent) -> None:
    """Call `register(cls)` once for every component class this plugin provides.

    The class's interface (Encoder, Prior, Decoder, Upsampler, Sampler, EditingOperation,
    DataSource or Metric) is its kind; its `name` is what YAML graphs write as `type:`. A name already
    registered for that kind by another plugin is an error that names both plugins.
    """


@hookspec
def unclip_register_models(register: RegisterModel) -> None:
    """Call `register(name, folder)` for every saved pipeline folder this plugin ships.

    Registered names can be passed wherever a model is chosen (`Pipeline.from_pretrained`,
    `unclip generate --model`), next to the models listed in registry.yaml.
    """


@hookspec
def unclip_register_commands(register: RegisterCommand) -> None:
    """Call `register(name, run, help=..., arguments=...)` for every `unclip` subcommand this plugin adds.

    `arguments(parser)` adds the command's arguments to its argparse parser; `run(args)` does the
    work with the parsed namespace. Raise an `unclip_core.errors.UnclipError` subclass for a
    problem the user can fix: `unclip` prints it as one `error:` line and exits with code 2.
    A name that another plugin or unclip itself already uses is an error naming both.
    """
