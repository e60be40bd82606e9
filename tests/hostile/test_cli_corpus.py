"""Runs every row of the hostile corpus (cases.py) through `unclip` in this process.

A row passes when the command exits with the row's code, prints exactly one stderr line
starting with `error:` (argparse's own refusals print a usage line first) that contains the
row's fragment, and leaves the folders exactly as they were: no new, changed or removed file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from unclip_core.cli import main

from .cases import CASES, Case


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> content digest of every file and folder under root (hidden ones included)."""
    found = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        found[key] = "folder" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def params():
    for row in CASES:
        marks = [pytest.mark.slow] if row.slow else []
        yield pytest.param(row, id=row.name, marks=marks)


@pytest.mark.parametrize("row", params())
def test_hostile_input(row: Case, hostile_dirs, capsys, monkeypatch):
    for name, value in row.env.items():
        monkeypatch.setenv(name, value)
    argv = [part.format(**hostile_dirs) for part in row.argv]
    before = snapshot(hostile_dirs["tmp"])
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse refuses before the command runs
        code = exit.code
    err = capsys.readouterr().err
    assert code == row.code, err
    fragment = row.fragment.format(**hostile_dirs)
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("note:")]
    message = lines[-1] if lines else ""
    assert fragment in message, err
    from_argparse = message.startswith("usage:") or ": error: " in message
    if not from_argparse:
        assert message.startswith("error: ") and len(lines) == 1, err
    assert snapshot(hostile_dirs["tmp"]) == before, "the command left files behind or changed an input"


def test_every_case_has_a_unique_name():
    names = [row.name for row in CASES]
    assert len(names) == len(set(names))


def test_embed_runs_with_an_untrained_encoder_when_asked(hostile_dirs, capsys):
    """The refusal of an untrained encoder has a way out, and it leaves exactly the asked folder."""
    out = hostile_dirs["out"] / "emb"
    argv = ["embed", "--config", str(hostile_dirs["in"] / "graph.yaml"), "--out", str(out), "--device", "cpu"]
    assert main(argv) == 2
    assert main([*argv, "--allow-untrained-encoder"]) == 0, capsys.readouterr().err
    assert (out / "index.json").is_file()
    assert sorted(p.name for p in hostile_dirs["out"].iterdir()) == ["emb"]
