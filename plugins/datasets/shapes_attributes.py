"""The shapes vocabulary: colors, shapes, sizes and positions, and the held-out combinations."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

# Palette colors sit far apart in RGB so the oracle can name any foreground unambiguously.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (30, 70, 230),
    "yellow": (240, 200, 0),
    "purple": (150, 40, 190),
    "cyan": (0, 200, 220),
}
BACKGROUND: tuple[int, int, int] = (240, 240, 240)
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "cross")
# Object side as a fraction of one grid cell (a third of the image).
SIZES: dict[str, float] = {"small": 0.45, "large": 0.85}
# 3x3 grid, row-major; each name is (row, column).
POSITIONS: dict[str, tuple[int, int]] = {
    "top left": (0, 0),
    "top": (0, 1),
    "top right": (0, 2),
    "left": (1, 0),
    "center": (1, 1),
    "right": (1, 2),
    "bottom left": (2, 0),
    "bottom": (2, 1),
    "bottom right": (2, 2),
}
# Color+shape pairs never shown in training: each color and each shape still appears in
# training with other partners, so the held-out split measures compositional generalization.
HELD_OUT_PAIRS: frozenset[tuple[str, str]] = frozenset(
    {("red", "triangle"), ("green", "circle"), ("blue", "cross"), ("yellow", "square")}
)


@dataclass(frozen=True)
class Attributes:
    color: str
    shape: str
    size: str
    position: str

    @property
    def held_out(self) -> bool:
        return (self.color, self.shape) in HELD_OUT_PAIRS

    def as_dict(self) -> dict[str, str]:
        return {"color": self.color, "shape": self.shape, "size": self.size, "position": self.position}


ATTRIBUTE_NAMES: tuple[str, ...] = ("color", "shape", "size", "position")


def all_combinations() -> list[Attributes]:
    return [Attributes(*values) for values in product(COLORS, SHAPES, SIZES, POSITIONS)]


def split_combinations(split: str) -> list[Attributes]:
    """'train': every combination outside HELD_OUT_PAIRS; 'val': exactly those inside."""
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    want_held_out = split == "val"
    return [a for a in all_combinations() if a.held_out == want_held_out]
