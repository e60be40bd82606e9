"""The shapes oracle: reads color, shape, size and position back from pixels.

It works on any image of one shape over a plain background (a render or a model's sample):
  background  the median border pixel;
  color       nearest palette color to the mean of the strongly foreground pixels;
  alpha       each pixel's coverage, projected on the background->color line;
  shape       the template (rendered at the measured area and centroid) closest in L1;
  size        the template's side against the midpoint of the two sizes (in grid cells);
  position    the shape's box center in the 3x3 grid.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

from unclip_core.errors import InputError

from .shapes_attributes import ATTRIBUTE_NAMES, COLORS, POSITIONS, SHAPES, SIZES, Attributes
from .shapes_captions import parse_caption
from .shapes_render import CENTROID_OFFSET, FILL, Placement, shape_alpha

# Below this RGB distance from the background nothing is drawn at all.
MIN_CONTRAST = 40.0
# Pixels this far (relative to the strongest) count as solid foreground for color and extent.
CORE_FRACTION = 0.6
# Coverage under this is treated as noise.
ALPHA_FLOOR = 0.05
_SIZE_THRESHOLD = math.sqrt(SIZES["small"] * SIZES["large"])
_PALETTE = np.asarray(list(COLORS.values()), dtype=np.float32)
_GRID = {cell: name for name, cell in POSITIONS.items()}


def to_rgb_array(image: torch.Tensor | Image.Image | np.ndarray) -> np.ndarray:
    """(3, H, W) tensor in [-1, 1], a PIL image or an (H, W, 3) uint8 array -> (H, W, 3) float32 0..255."""
    if isinstance(image, torch.Tensor):
        if image.ndim != 3 or image.shape[0] != 3:
            raise ValueError(f"expected a (3, H, W) tensor, got shape {tuple(image.shape)}")
        return ((image.detach().float().clamp(-1, 1) + 1) * 127.5).permute(1, 2, 0).cpu().numpy()
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.float32)
    return np.asarray(image, dtype=np.float32)


def perceive(image: torch.Tensor | Image.Image | np.ndarray) -> Attributes | None:
    """The attributes of the one shape in `image`, or None when the image is blank."""
    rgb = to_rgb_array(image)
    size = rgb.shape[0]
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    background = np.median(border, axis=0)
    diff = rgb - background
    distance = np.linalg.norm(diff, axis=-1)
    if distance.max() < MIN_CONTRAST:
        return None
    core = distance > CORE_FRACTION * distance.max()
    color_index = int(np.argmin(np.linalg.norm(_PALETTE - rgb[core].mean(0), axis=-1)))
    alpha = _coverage(diff, _PALETTE[color_index] - background, core)
    area = float(alpha.sum())
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    centroid = (float((alpha * xs).sum() / area), float((alpha * ys).sum() / area))
    shape, where = _best_template(alpha, area, centroid)
    cell = size / 3
    return Attributes(
        color=list(COLORS)[color_index],
        shape=shape,
        size="large" if where.side / cell > _SIZE_THRESHOLD else "small",
        position=_GRID[(_grid_index(where.center_y, cell), _grid_index(where.center_x, cell))],
    )


def judge(image: torch.Tensor | Image.Image | np.ndarray, caption: str) -> dict[str, bool]:
    """Per attribute (color, shape, size, position): does the image show what the caption says?

    "parsed" says whether the caption could be read; when it cannot, every attribute is False.
    """
    try:
        wanted = parse_caption(caption)
    except InputError:
        wanted = None
    seen = perceive(image)
    result = {name: bool(wanted and seen and getattr(wanted, name) == getattr(seen, name)) for name in ATTRIBUTE_NAMES}
    result["parsed"] = wanted is not None
    return result


def _coverage(diff: np.ndarray, direction: np.ndarray, core: np.ndarray) -> np.ndarray:
    """Per-pixel coverage in [0, 1], kept only near the solid foreground (stray noise is dropped)."""
    alpha = np.clip(diff @ direction / float(direction @ direction), 0.0, 1.0)
    alpha[alpha < ALPHA_FLOOR] = 0.0
    rows, cols = np.nonzero(core)
    margin = 2
    window = np.zeros_like(alpha, dtype=bool)
    window[max(rows.min() - margin, 0) : rows.max() + margin + 1, max(cols.min() - margin, 0) : cols.max() + margin + 1] = True
    return np.where(window, alpha, 0.0).astype(np.float32)


def _best_template(alpha: np.ndarray, area: float, centroid: tuple[float, float]) -> tuple[str, Placement]:
    size = alpha.shape[0]
    best: tuple[float, str, Placement] | None = None
    for shape in SHAPES:
        where = _placement(shape, math.sqrt(area / FILL[shape]), centroid)
        template = shape_alpha(shape, where, size)
        # One secant step on the side, so pixel rounding of tiny shapes does not bias the match.
        where = _placement(shape, where.side * math.sqrt(area / max(float(template.sum()), 1e-6)), centroid)
        error = float(np.abs(alpha - shape_alpha(shape, where, size)).sum())
        if best is None or error < best[0]:
            best = (error, shape, where)
    assert best is not None
    return best[1], best[2]


def _placement(shape: str, side: float, centroid: tuple[float, float]) -> Placement:
    return Placement(centroid[0], centroid[1] - CENTROID_OFFSET[shape] * side, side)


def _grid_index(coordinate: float, cell: float) -> int:
    return min(max(int(coordinate // cell), 0), 2)
