"""Writing folders and files so a reader sees the old version or the new one, never half of either.

Everything is written beside its destination (same filesystem, so the final rename is atomic)
and renamed into place only once complete; a failure removes the partial copy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_folder(folder: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder; when the block ends without error it replaces `folder` whole.

    An existing `folder` is moved aside, the staging folder renamed in, then the old one removed.
    If another process swaps in the same folder meanwhile, the last to finish wins.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        yield staging
        _swap_in(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_in(staging: Path, folder: Path, attempts: int = 3) -> None:
    for attempt in range(attempts):
        if folder.exists():
            aside = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
            try:
                os.rename(folder, aside / folder.name)
            except FileNotFoundError:  # another process moved it first
                pass
            shutil.rmtree(aside, ignore_errors=True)
        try:
            os.rename(staging, folder)
            return
        except OSError:  # a concurrent writer renamed its folder in between: move that aside too
            if attempt + 1 == attempts:
                raise


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the block ends without error it replaces `path`."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
