"""The `unclip` command. Each built-in subcommand lives in unclip_core/commands/; plugins add more."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .commands import COMMANDS
from .commands.subcommands import Subcommands
from .errors import PluginError, UnclipError
from .plugins import get_registry
from .registry import CommandEntry


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command: unclip's own, editing operations', and plugins' (loads plugins)."""
    parser = argparse.ArgumentParser(prog="unclip", description="unCLIP: text -> CLIP image embedding -> image.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = Subcommands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    for command in COMMANDS:
        command.add_parser(sub)
    for entry in get_registry().commands():
        add_plugin_command(sub, entry)
    return parser


def add_plugin_command(sub: Subcommands, entry: CommandEntry) -> None:
    command = sub.add_parser(entry.name, help=entry.help, description=entry.help, owner=entry.plugin)
    if entry.arguments is not None:
        try:
            entry.arguments(command)
        except Exception as exc:  # argparse conflicts and plain bugs alike: name the plugin
            raise PluginError(
                f"plugin '{entry.plugin}' failed to declare the arguments of 'unclip {entry.name}': "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    command.set_defaults(run=entry.run)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
    except Exception as exc:  # a plugin that fails to load must not turn into a traceback
        if "--debug" in argv:
            raise
        return report(exc)
    # argparse stops filling a positional list at the first option, so `train clip --config F
    # key=value` leaves the overrides over; they belong to the command's `overrides`.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not hasattr(args, "overrides") or any(item.startswith("-") for item in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*args.overrides, *extra]
    try:
        args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        return report(exc)
    return 0


def report(exc: Exception) -> int:
    """Every failure is one line unless --debug asks for more; exit code 2."""
    message = str(exc) if isinstance(exc, UnclipError) else f"{type(exc).__name__}: {exc}"
    print(f"error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
