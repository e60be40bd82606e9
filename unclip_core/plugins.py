"""Loading plugins: the built-ins named in registry.yaml, then entry points of group "unclip"."""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points
from pathlib import Path
from collections.abc import Iterable
from types import ModuleType

import pluggy

from . import hookspecs
from .catalog import load_catalog
from .errors import PluginError, UnclipError
from .registry import Registry

ENTRY_POINT_GROUP = "unclip"


def plugin_manager(extra: Iterable[tuple[str, object]] = ()) -> pluggy.PluginManager:
    """A fresh manager holding the built-ins, every allowed installed plugin, and `extra`.

    `extra` is (name, plugin object) pairs registered last, for in-process plugins.
    """
    pm = pluggy.PluginManager("unclip")
    pm.add_hookspecs(hookspecs)
    for name, module in load_catalog().plugins.items():
        pm.register(_import(module, name), name=name)
    allowed = _allowed_plugins()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and ep.name not in allowed:
            continue
        if pm.get_plugin(ep.name) is not None:
            raise PluginError(f"plugin name '{ep.name}' is taken twice; rename one entry point")
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken third-party package must say which one it is
            raise PluginError(f"plugin '{ep.name}' ({ep.value}) failed to import: {exc}") from exc
        pm.register(plugin, name=ep.name)
    for name, plugin in extra:
        pm.register(plugin, name=name)
    return pm


def build_registry(pm: pluggy.PluginManager) -> Registry:
    """Ask every plugin to register; each registration is tagged with its plugin's name."""
    registry = Registry()
    for impl in pm.hook.unclip_register_components.get_hookimpls():
        _call(impl, lambda cls, plugin=impl.plugin_name: registry.register(cls, plugin))
    for impl in pm.hook.unclip_register_models.get_hookimpls():
        _call(impl, lambda name, folder, plugin=impl.plugin_name: registry.register_model(name, Path(folder), plugin))
    for impl in pm.hook.unclip_register_commands.get_hookimpls():
        _call(impl, _command_registrar(registry, impl.plugin_name))
    return registry


def _command_registrar(registry: Registry, plugin: str) -> hookspecs.RegisterCommand:
    def register(name, run, *, help, arguments=None) -> None:
        registry.register_command(name, run, help=help, arguments=arguments, plugin=plugin)

    return register


def _call(impl: pluggy.HookImpl, register) -> None:
    """Run one plugin's registration hook; a crash inside it names the plugin."""
    try:
        impl.function(register=register)
    except UnclipError:
        raise
    except Exception as exc:
        raise PluginError(
            f"plugin '{impl.plugin_name}' failed in {impl.function.__name__}: {type(exc).__name__}: {exc}; "
            "fix or uninstall it, or leave it out with UNCLIP_LOAD_PLUGINS"
        ) from exc


_active: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _active
    if _active is None:
        _active = build_registry(plugin_manager())
    return _active


def set_registry(registry: Registry | None) -> Registry | None:
    """Make `registry` the process-wide one (None: rebuild on next use); returns the previous."""
    global _active
    previous, _active = _active, registry
    return previous


def _allowed_plugins() -> set[str] | None:
    """UNCLIP_LOAD_PLUGINS="a,b" loads only those third-party plugins; "" loads none."""
    value = os.environ.get("UNCLIP_LOAD_PLUGINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _import(module: str, name: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise PluginError(f"built-in plugin '{name}' ({module}) failed to import: {exc}") from exc
