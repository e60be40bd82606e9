"""Captions for shapes in several phrasings, and the parser that reads any of them back."""

from __future__ import annotations

import re

from unclip_core.errors import InputError

from .shapes_attributes import COLORS, POSITIONS, SHAPES, SIZES, Attributes

# Where a position is named as a place, with its preposition ("in the top left corner").
REGIONS: dict[str, str] = {
    "top left": "in the top left corner",
    "top": "at the top",
    "top right": "in the top right corner",
    "left": "on the left side",
    "center": "in the center",
    "right": "on the right side",
    "bottom left": "in the bottom left corner",
    "bottom": "at the bottom",
    "bottom right": "in the bottom right corner",
}
PHRASINGS: tuple[str, ...] = (
    "a {size} {color} {shape} at the {position}",
    "{size} {color} {shape}, {position}",
    "a {color} {shape}, {size}, {region}",
    "{position}: a {size} {color} {shape}",
    "a {shape}, {color} and {size}, placed {region}",
    "there is a {size} {color} {shape} {region}",
)
# Synonyms a caption may use; each maps to the canonical attribute value.
_VERTICAL = {"top": "top", "upper": "top", "bottom": "bottom", "lower": "bottom"}
_HORIZONTAL = {"left": "left", "right": "right"}
_CENTER = {"center", "centre", "middle"}
_WORD = re.compile(r"[a-z]+")


def caption(attributes: Attributes, phrasing: int = 0) -> str:
    template = PHRASINGS[phrasing % len(PHRASINGS)]
    return template.format(**attributes.as_dict(), region=REGIONS[attributes.position])


def parse_caption(text: str) -> Attributes:
    """Read color, shape, size and position from a caption in any phrasing above.

    Position words may be combined freely ("upper left", "the left side", "middle").
    Raises InputError naming what is missing.
    """
    words = _WORD.findall(text.lower())
    found = {
        "color": _one_of(words, COLORS, "color"),
        "shape": _one_of(words, SHAPES, "shape"),
        "size": _one_of(words, SIZES, "size"),
    }
    return Attributes(position=_position(words, text), **found)


def _one_of(words: list[str], options, what: str) -> str:
    hits = sorted({w for w in words if w in options})
    if len(hits) != 1:
        problem = "no" if not hits else f"several ({', '.join(hits)})"
        raise InputError(f"caption names {problem} {what}; name exactly one of: {', '.join(options)}")
    return hits[0]


def _position(words: list[str], text: str) -> str:
    vertical = {_VERTICAL[w] for w in words if w in _VERTICAL}
    horizontal = {_HORIZONTAL[w] for w in words if w in _HORIZONTAL}
    if len(vertical) > 1 or len(horizontal) > 1:
        raise InputError(f"caption {text!r} names contradictory positions; use one of: {', '.join(POSITIONS)}")
    if not vertical and not horizontal and not _CENTER.intersection(words):
        raise InputError(f"caption {text!r} names no position; use one of: {', '.join(POSITIONS)}")
    name = " ".join([*vertical, *horizontal])
    return name or "center"
