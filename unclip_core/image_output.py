"""Writing generated images: contact-sheet grids and atomic PNG/JPEG writes."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from PIL import Image


def grid(images: Sequence[Image.Image], columns: int | None = None, gap: int = 2) -> Image.Image:
    """Images side by side, `columns` per row (default: as square as possible), on white."""
    if not images:
        raise ValueError("no images to put in a grid")
    columns = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    width, height = images[0].size
    sheet = Image.new("RGB", (columns * width + (columns - 1) * gap, rows * height + (rows - 1) * gap), "white")
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        sheet.paste(image, (column * (width + gap), row * (height + gap)))
    return sheet


def save_atomic(image: Image.Image, path: str | Path) -> Path:
    """Write next to `path`, then rename into place: a crash never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        image.save(tmp, format=Image.registered_extensions().get(path.suffix.lower(), "PNG"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def numbered(path: str | Path, index: int) -> Path:
    """apple.png, 3 -> apple_3.png"""
    path = Path(path)
    return path.with_name(f"{path.stem}_{index}{path.suffix}")
