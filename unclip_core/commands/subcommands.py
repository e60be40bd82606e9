"""The table of `unclip` subcommands: argparse's own, plus who added each command.

Built-in commands, editing operations' commands and plugins' commands all go through it, so a
name claimed twice is an error naming both claimants, whichever came first.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import PluginError

BUILT_IN = None  # the owner of unclip's own commands


class Subcommands:
    def __init__(self, subparsers: Any) -> None:
        self._subparsers = subparsers
        self._owners: dict[str, str | None] = {}

    def add_parser(self, name: str, *, owner: str | None = BUILT_IN, **kwargs: Any) -> argparse.ArgumentParser:
        """Add `unclip <name>`; `owner` is the plugin adding it (None: unclip itself)."""
        if name in self._owners:
            raise PluginError(_clash(name, self._owners[name], owner))
        self._owners[name] = owner
        return self._subparsers.add_parser(name, **kwargs)


def _clash(name: str, first: str | None, second: str | None) -> str:
    if first is BUILT_IN and second is BUILT_IN:
        return f"unclip defines the command '{name}' twice; rename one in unclip_core/commands/"
    if first is BUILT_IN or second is BUILT_IN:
        plugin = second if first is BUILT_IN else first
        return (
            f"plugin '{plugin}' adds the command 'unclip {name}', which unclip already has; "
            "the plugin must name its command differently (or leave it out with UNCLIP_LOAD_PLUGINS)"
        )
    return (
        f"two plugins add the command 'unclip {name}': '{first}' and '{second}'; "
        "uninstall one or restrict UNCLIP_LOAD_PLUGINS"
    )
