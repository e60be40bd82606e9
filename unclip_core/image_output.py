"""Writing result images: grids, strips and animated GIFs, each written atomically.

A file is written next to its destination under a temporary name and renamed into place, so
an interrupted run never leaves a half-written image where a finished one is expected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from .atomic import atomic_file
from .errors import InputError

GAP = 2  # pixels between tiles
GAP_COLOR = (200, 200, 200)


def grid(images: Sequence[Image.Image], columns: int | None = None) -> Image.Image:
    """Tiles left to right, top to bottom, GAP pixels apart; one row (a strip) unless `columns` says otherwise."""
    if not images:
        raise ValueError("no images to lay out")
    columns = len(images) if columns is None else max(1, min(columns, len(images)))
    rows = -(-len(images) // columns)
    width, height = max(i.width for i in images), max(i.height for i in images)
    sheet = Image.new("RGB", (columns * (width + GAP) - GAP, rows * (height + GAP) - GAP), GAP_COLOR)
    for k, image in enumerate(images):
        sheet.paste(image, ((k % columns) * (width + GAP), (k // columns) * (height + GAP)))
    return sheet


def image_format(path: Path) -> str:
    known = Image.registered_extensions()
    fmt = known.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"cannot tell the image format of {path}; end the file name in .png, .jpg or .webp")
    return fmt


def save_image(image: Image.Image, path: str | Path) -> Path:
    path = Path(path)
    _write_atomically(path, lambda tmp: image.save(tmp, format=image_format(path)))
    return path


def save_gif(frames: Sequence[Image.Image], path: str | Path, *, frame_ms: int = 150, bounce: bool = True) -> Path:
    """An endlessly looping GIF; `bounce` plays the frames forward then back."""
    path = Path(path)
    sequence = list(frames) + (list(frames[-2:0:-1]) if bounce else [])
    _write_atomically(path, lambda tmp: sequence[0].save(
        tmp, format="GIF", save_all=True, append_images=sequence[1:], duration=frame_ms, loop=0,
    ))
    return path


def _write_atomically(path: Path, write) -> None:
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: folder {path.parent} does not exist; create it first")
    with atomic_file(path) as temporary:
        write(temporary)


def numbered(path: str | Path, index: int) -> Path:
    """apple.png, 3 -> apple_3.png"""
    path = Path(path)
    return path.with_name(f"{path.stem}_{index}{path.suffix}")


def square_columns(count: int) -> int:
    """Columns for a grid as close to square as possible."""
    return max(1, math.ceil(math.sqrt(count)))
