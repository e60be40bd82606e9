"""Write docs/images/shapes_grid.png and docs/images/emoji_grid.png: samples of the two sets.

    PYTHONPATH=. python scripts/data_grids.py   (needs fonts-noto-color-emoji for the emoji grid)
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from PIL import Image

from unclip_core.images import to_pil
from unclip_plugins.datasets.emoji import EmojiConfig, EmojiSource
from unclip_plugins.datasets.shapes import ShapesConfig, ShapesSource

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"


def grid(images: torch.Tensor, columns: int) -> Image.Image:
    tiles = to_pil(images)
    size = tiles[0].width
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (columns * (size + 2) + 2, rows * (size + 2) + 2), (200, 200, 200))
    for k, tile in enumerate(tiles):
        sheet.paste(tile, (2 + (k % columns) * (size + 2), 2 + (k // columns) * (size + 2)))
    return sheet


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    shapes = ShapesSource(ShapesConfig(image_size=64)).train_set()
    grid(torch.stack([shapes[i]["image"] for i in range(32)]), 8).save(OUT / "shapes_grid.png", optimize=True)
    print("\n".join(shapes[i]["caption"] for i in range(8)))
    emoji = EmojiSource(EmojiConfig(image_size=64)).train_set()
    picks = range(0, len(emoji), len(emoji) // 32)
    grid(torch.stack([emoji[i]["image"] for i in list(picks)[:32]]), 8).save(OUT / "emoji_grid.png", optimize=True)
    print("\n".join(emoji[i]["caption"] for i in list(picks)[:8]))


if __name__ == "__main__":
    sys.exit(main())
