"""Rendering one shape: drawn as a mask at a supersampled size, box-filtered down, then colored.

The box filter averages exact pixel coverage, so the mask is a true sub-pixel alpha: the
oracle relies on its area and centroid being faithful even at 32px.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .shapes_attributes import BACKGROUND, COLORS, POSITIONS, SIZES, Attributes

# Drawn on a canvas at least this many pixels wide, so small shapes keep their proportions.
MIN_CANVAS = 256
# Fraction of the bounding box each shape covers (for recovering its side from its area).
FILL: dict[str, float] = {"circle": math.pi / 4, "square": 1.0, "triangle": 0.5, "cross": 5 / 9}
# Centroid minus box center, in units of the side (a triangle's centroid sits low in its box).
CENTROID_OFFSET: dict[str, float] = {"circle": 0.0, "square": 0.0, "triangle": 1 / 6, "cross": 0.0}


@dataclass(frozen=True)
class Placement:
    """Where a shape's bounding box sits, in pixels of the final image."""

    center_x: float
    center_y: float
    side: float


def placement(attributes: Attributes, image_size: int, jitter: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> Placement:
    """Box center at the grid cell center, shifted by `jitter` (dx, dy in cells; size scale - 1)."""
    cell = image_size / 3
    row, col = POSITIONS[attributes.position]
    dx, dy, ds = jitter
    return Placement((col + 0.5 + dx) * cell, (row + 0.5 + dy) * cell, SIZES[attributes.size] * cell * (1 + ds))


def shape_alpha(shape: str, where: Placement, image_size: int) -> np.ndarray:
    """Coverage (image_size, image_size) float32 in [0, 1] of one shape."""
    k = max(2, -(-MIN_CANVAS // image_size))
    canvas = Image.new("L", (image_size * k, image_size * k), 0)
    draw = ImageDraw.Draw(canvas)
    cx, cy, half = where.center_x * k, where.center_y * k, where.side * k / 2
    # Pillow fills both end pixels of a span; pulling the far edges in by half a pixel on
    # each side keeps the drawn area equal to the geometric one.
    cx, cy, half = cx - 0.5, cy - 0.5, half - 0.5
    left, top, right, bottom = cx - half, cy - half, cx + half, cy + half
    if shape == "circle":
        draw.ellipse([left, top, right, bottom], fill=255)
    elif shape == "square":
        draw.polygon([(left, top), (right, top), (right, bottom), (left, bottom)], fill=255)
    elif shape == "triangle":
        draw.polygon([(cx, top), (right, bottom), (left, bottom)], fill=255)
    elif shape == "cross":
        arm = half / 3
        draw.polygon([(cx - arm, top), (cx + arm, top), (cx + arm, bottom), (cx - arm, bottom)], fill=255)
        draw.polygon([(left, cy - arm), (right, cy - arm), (right, cy + arm), (left, cy + arm)], fill=255)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    small = canvas.resize((image_size, image_size), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def compose(alpha: np.ndarray, color: tuple[int, int, int], background: tuple[int, int, int] = BACKGROUND) -> np.ndarray:
    """(H, W) alpha -> (H, W, 3) uint8 RGB of `color` over `background`."""
    bg = np.asarray(background, dtype=np.float32)
    fg = np.asarray(color, dtype=np.float32)
    rgb = bg + alpha[..., None] * (fg - bg)
    return np.rint(rgb).astype(np.uint8)


def render(attributes: Attributes, image_size: int, jitter: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """One image (image_size, image_size, 3) uint8."""
    alpha = shape_alpha(attributes.shape, placement(attributes, image_size, jitter), image_size)
    return compose(alpha, COLORS[attributes.color])
