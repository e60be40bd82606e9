"""Subcommands of `unclip`. Each module has `add_parser(subparsers)` that sets `run=`."""

from . import config, data, embed, plugins, train

COMMANDS = [plugins, config, train, data, embed]
