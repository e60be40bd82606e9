"""Subcommands of `unclip`. Each module has `add_parser(subparsers)` that sets `run=`."""

from . import config, data, embed, generate, plugins, train

COMMANDS = [plugins, config, generate, train, data, embed]
