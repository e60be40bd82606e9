"""Subcommands of `unclip`. Each module has `add_parser(subparsers)` that sets `run=`."""

from . import compare, config, data, edit, embed, generate, plugins, serve, summary, train

COMMANDS = [generate, edit, plugins, config, summary, train, data, embed, compare, serve]
