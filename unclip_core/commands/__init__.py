"""Subcommands of `unclip`. Each module has `add_parser(subparsers)` that sets `run=`."""

from . import config, plugins, train

COMMANDS = [plugins, config, train]
