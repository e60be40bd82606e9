"""The on-disk cache of rendered emoji: a folder of PNGs plus manifest.json, per render setting.

  <cache_dir>/<image_size>/<key>/manifest.json   {"format", "settings", "font", "items": [{"emoji", "file"}]}
  <cache_dir>/<image_size>/<key>/00000.png ...

`key` hashes everything that changes the pixels, so a new setting never reads stale images.
The folder is written beside its final place and renamed in (a crash leaves no half cache);
on reading, every PNG is validated: a broken one is logged and re-rendered when the font is
present, else skipped.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import emoji
import numpy as np
from PIL import Image

from unclip_core.atomic import atomic_file, atomic_folder

from .image_files import decode_image

log = logging.getLogger("unclip.data")
CACHE_FORMAT = "unclip.emoji-cache/1"
MANIFEST = "manifest.json"
# Renders one emoji, or returns None when the font cannot show it.
Renderer = Callable[[str], "np.ndarray | None"]


@dataclass(frozen=True)
class RenderSettings:
    image_size: int
    background: tuple[int, int, int]
    padding: float
    limit: int | None


def cache_folder(cache_dir: str | Path, settings: RenderSettings) -> Path:
    identity = json.dumps({"format": CACHE_FORMAT, "emoji": emoji.__version__, **asdict(settings)}, sort_keys=True)
    key = hashlib.sha256(identity.encode()).hexdigest()[:12]
    return Path(cache_dir).expanduser() / str(settings.image_size) / key


def load_or_render(folder: Path, settings: RenderSettings, candidates: list[str], renderer: Callable[[], Renderer], font_name: str = "") -> dict[str, np.ndarray]:
    """emoji -> (S, S, 3) uint8, from the cache when it is there, else rendered and cached.

    `renderer()` is called only when something must be rendered, so a complete cache needs no font.
    """
    manifest = read_manifest(folder)
    if manifest is not None:
        return read_images(folder, manifest, settings.image_size, renderer)
    render = renderer()
    images = {}
    for character in candidates:
        pixels = render(character)
        if pixels is not None:
            images[character] = pixels
    write_cache(folder, images, settings, font_name)
    return images


def read_manifest(folder: Path) -> dict | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
        if manifest.get("format") != CACHE_FORMAT or not isinstance(manifest.get("items"), list):
            raise ValueError(f"format is {manifest.get('format')!r}, expected {CACHE_FORMAT!r}")
    except (OSError, ValueError) as exc:
        log.warning("emoji cache %s is unreadable (%s); rendering it again", path, exc)
        return None
    return manifest


def read_images(folder: Path, manifest: dict, image_size: int, renderer: Callable[[], Renderer]) -> dict[str, np.ndarray]:
    images: dict[str, np.ndarray] = {}
    broken: list[dict] = []
    for item in manifest["items"]:
        pixels = _read_png(folder / item["file"], image_size)
        if pixels is None:
            broken.append(item)
        else:
            images[item["emoji"]] = pixels
    if broken:
        images.update(_repair(folder, broken, renderer))
        # Keep manifest order whether or not an image had to be repaired.
        images = {item["emoji"]: images[item["emoji"]] for item in manifest["items"] if item["emoji"] in images}
    return images


def write_cache(folder: Path, images: dict[str, np.ndarray], settings: RenderSettings, font_name: str) -> None:
    with atomic_folder(folder) as staging:
        items = []
        for index, (character, pixels) in enumerate(images.items()):
            name = f"{index:05d}.png"
            Image.fromarray(pixels).save(staging / name, optimize=False)
            items.append({"emoji": character, "file": name})
        manifest = {"format": CACHE_FORMAT, "settings": asdict(settings), "emoji_package": emoji.__version__, "font": font_name, "items": items}
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1))


def _read_png(path: Path, image_size: int) -> np.ndarray | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        log.warning("skipping %s: cannot read it (%s)", path, exc)
        return None
    image = decode_image(data, str(path))
    if image is None:
        return None
    if image.size != (image_size, image_size):
        image = image.resize((image_size, image_size), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8)


def _repair(folder: Path, broken: list[dict], renderer: Callable[[], Renderer]) -> dict[str, np.ndarray]:
    """Render broken cache entries again and rewrite them; without a font they stay skipped."""
    try:
        render = renderer()
    except Exception as exc:  # no font here: training goes on without these images
        log.warning("skipping %d broken emoji cache images in %s (cannot re-render: %s)", len(broken), folder, exc)
        return {}
    repaired = {}
    for item in broken:
        pixels = render(item["emoji"])
        if pixels is None:
            continue
        target = folder / item["file"]
        with atomic_file(target) as temporary:
            Image.fromarray(pixels).save(temporary, format="PNG")
        log.warning("re-rendered broken emoji cache image %s", target)
        repaired[item["emoji"]] = pixels
    return repaired
