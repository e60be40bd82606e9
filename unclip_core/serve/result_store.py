"""The folder the page serves results from: every PNG (settings in its text chunks) and GIF is
written there once, so the browser downloads exactly the bytes the operation produced."""

from __future__ import annotations

import uuid
from pathlib import Path

from ..atomic import atomic_file
from .result import Result


class ResultStore:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def save(self, result: Result) -> tuple[list[str], str | None]:
        """(PNG paths, GIF path or None) of one result."""
        stem = f"{result.operation}-{uuid.uuid4().hex[:10]}"
        pngs = [self._write(f"{stem}-{k}.png", png) for k, png in enumerate(result.pngs)]
        gif = self._write(f"{stem}.gif", result.gif) if result.gif is not None else None
        return pngs, gif

    def _write(self, name: str, data: bytes) -> str:
        path = self.folder / name
        with atomic_file(path) as temporary:
            temporary.write_bytes(data)
        return str(path)
