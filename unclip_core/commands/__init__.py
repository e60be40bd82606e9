"""Subcommands of `unclip`. Each module has `add_parser(subparsers)` that sets `run=`."""

from . import config, data, edit, embed, plugins, train

COMMANDS = [plugins, config, train, data, embed, edit]
