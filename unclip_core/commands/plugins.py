"""`unclip plugins`: every registered component as a table."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    parser = sub.add_parser("plugins", help="list registered components (kind, name, plugin, summary)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    from ..plugins import get_registry

    rows = [(e.kind, e.name, e.plugin, e.cls.summary()) for e in get_registry().entries()]
    print(format_table(("kind", "name", "plugin", "summary"), rows))


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
