"""The registry: (kind, name) -> component class, remembering which plugin registered what."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from .errors import ConfigError, PluginError
from .interfaces import KINDS, Component


@dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    cls: type[Component]
    plugin: str


@dataclass(frozen=True)
class ModelEntry:
    name: str
    folder: Path
    plugin: str


@dataclass(frozen=True)
class CommandEntry:
    """An `unclip` subcommand a plugin adds: `arguments(parser)` declares, `run(args)` runs."""

    name: str
    run: Callable[[argparse.Namespace], None]
    help: str
    arguments: Callable[[argparse.ArgumentParser], None] | None
    plugin: str


class Registry:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Entry] = {}
        self._models: dict[str, ModelEntry] = {}
        self._commands: dict[str, CommandEntry] = {}

    def register(self, cls: type, plugin: str) -> None:
        kind = kind_of(cls, plugin)
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin '{plugin}' registered {cls.__qualname__} without a `name: ClassVar[str]`")
        config = getattr(cls, "Config", None)
        if not (isinstance(config, type) and issubclass(config, BaseModel)):
            raise PluginError(f"plugin '{plugin}': {cls.__qualname__}.Config must be a pydantic model")
        if config.model_config.get("extra") != "forbid":
            raise PluginError(
                f"plugin '{plugin}': {cls.__qualname__}.Config must forbid unknown keys; "
                "subclass unclip_core.interfaces.ComponentConfig"
            )
        check = getattr(cls, "declaration_problems", None)
        for problem in check() if check is not None else []:
            raise PluginError(f"plugin '{plugin}': {cls.__qualname__}: {problem}")
        existing = self._entries.get((kind, name))
        if existing is not None and existing.cls is not cls:
            raise PluginError(
                f"two plugins register the {kind} '{name}': '{existing.plugin}' "
                f"({existing.cls.__module__}.{existing.cls.__qualname__}) and '{plugin}' "
                f"({cls.__module__}.{cls.__qualname__}); uninstall one or restrict UNCLIP_LOAD_PLUGINS"
            )
        self._entries[(kind, name)] = Entry(kind, name, cls, plugin)

    def register_model(self, name: str, folder: Path, plugin: str) -> None:
        existing = self._models.get(name)
        if existing is not None and existing.folder != Path(folder):
            raise PluginError(
                f"two plugins register the model '{name}': '{existing.plugin}' and '{plugin}'"
            )
        self._models[name] = ModelEntry(name, Path(folder), plugin)

    def register_command(
        self,
        name: str,
        run: Callable[[argparse.Namespace], None],
        *,
        help: str,
        arguments: Callable[[argparse.ArgumentParser], None] | None,
        plugin: str,
    ) -> None:
        if not isinstance(name, str) or not name or name.startswith("-") or any(c.isspace() for c in name):
            raise PluginError(f"plugin '{plugin}' registered the command {name!r}; a command name is one word not starting with '-'")
        if not callable(run) or (arguments is not None and not callable(arguments)):
            raise PluginError(f"plugin '{plugin}' registered the command '{name}' with a `run` or `arguments` that is not a function")
        existing = self._commands.get(name)
        if existing is not None:
            raise PluginError(
                f"two plugins add the command 'unclip {name}': '{existing.plugin}' and '{plugin}'; "
                "uninstall one or restrict UNCLIP_LOAD_PLUGINS"
            )
        self._commands[name] = CommandEntry(name, run, help, arguments, plugin)

    def get(self, kind: str, name: str) -> type[Component]:
        entry = self._entries.get((kind, name))
        if entry is None:
            known = self.names(kind)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(
                f"unknown {kind} type '{name}'{hint}; registered {kind} types: "
                f"{', '.join(known) or 'none'}. Install the plugin that provides it or fix `type:`."
            )
        return entry.cls

    def names(self, kind: str) -> list[str]:
        return sorted(name for (k, name) in self._entries if k == kind)

    def entries(self) -> list[Entry]:
        order = list(KINDS)
        return sorted(self._entries.values(), key=lambda e: (order.index(e.kind), e.name))

    def models(self) -> dict[str, ModelEntry]:
        return dict(self._models)

    def commands(self) -> list[CommandEntry]:
        return sorted(self._commands.values(), key=lambda c: c.name)


def kind_of(cls: type, plugin: str = "?") -> str:
    """The kind of a component class: the interface it subclasses."""
    kinds = [kind for kind, interface in KINDS.items() if isinstance(cls, type) and issubclass(cls, interface)]
    if len(kinds) != 1:
        raise PluginError(
            f"plugin '{plugin}' registered {getattr(cls, '__qualname__', cls)!r}, which must subclass "
            f"exactly one of the interfaces in unclip_core.interfaces ({', '.join(KINDS)})"
        )
    return kinds[0]
