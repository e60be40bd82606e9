"""Writing result images: grids, strips and animated GIFs, each written atomically.

A file is written next to its destination under a temporary name and renamed into place, so
an interrupted run never leaves a half-written image where a finished one is expected.
`check_outputs` vets every destination of a command before any work starts, so a bad path
never costs a sampling run and never leaves a first output behind when a second one fails.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
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


def check_outputs(
    outputs: Iterable[str | Path | None], *, inputs: Iterable[object] = (), force: bool = False
) -> list[Path]:
    """Every output path, checked before any work: None entries (an unused option) are skipped.

    Each must name a known image format, sit in an existing writable folder, not be a folder
    itself, and differ from the other outputs. One that is also among `inputs` (paths, or
    anything else, such as PIL images, which are skipped) is refused unless `force`, since
    writing it would replace the source.
    """
    paths = [Path(p) for p in outputs if p is not None]
    sources = {_identity(Path(p)): Path(p) for p in _flatten(inputs) if isinstance(p, (str, Path))}
    seen: dict[tuple, Path] = {}
    for path in paths:
        if path.is_dir():
            raise InputError(f"cannot write {path}: it is a folder; give a file name such as {path / 'out.png'}")
        image_format(path)
        folder = path.parent
        if not folder.is_dir():
            raise InputError(f"cannot write {path}: folder {folder} does not exist; create it first")
        if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise InputError(f"cannot write {path}: no permission to write there; choose another folder")
        key = _identity(path)
        if key in seen:
            raise InputError(f"{seen[key]} and {path} are the same file; give each output its own name")
        seen[key] = path
        if key in sources and not force:
            raise InputError(
                f"the output {path} is also an input ({sources[key]}): writing it would replace the source; "
                "choose another output name, or pass --force to replace it"
            )
    return paths


def _identity(path: Path) -> tuple:
    """Two names of one file compare equal: same device and inode when it exists, else the resolved path."""
    try:
        stat = path.stat()
        return ("inode", stat.st_dev, stat.st_ino)
    except OSError:
        return ("path", str(path.resolve()))


def _flatten(items: Iterable[object]) -> Iterable[object]:
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flatten(item)
        elif item is not None:
            yield item


def numbered(path: str | Path, index: int) -> Path:
    """apple.png, 3 -> apple_3.png"""
    path = Path(path)
    return path.with_name(f"{path.stem}_{index}{path.suffix}")


def square_columns(count: int) -> int:
    """Columns for a grid as close to square as possible."""
    return max(1, math.ceil(math.sqrt(count)))
