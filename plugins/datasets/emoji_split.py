"""Which emoji exist, how they group into skin-tone families, and the fixed held-out split.

The split is decided per emoji by hashing (split_seed, family), not by position in a list, so
it stays the same when a newer font renders a few more emoji. Held out for evaluation:
  * whole families: a `val_fraction` of families, every member (all skin tones) unseen;
  * single skin tones: in a `tone_val_fraction` of the remaining families with two or more
    toned members, one toned member is held out while its siblings stay in training.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import emoji

SKIN_TONE_MODIFIERS = frozenset(chr(c) for c in range(0x1F3FB, 0x1F400))


def fully_qualified_emoji() -> list[str]:
    """Every fully-qualified emoji the `emoji` package knows, in code point order."""
    qualified = emoji.STATUS["fully_qualified"]
    return sorted(e for e, data in emoji.EMOJI_DATA.items() if data["status"] == qualified)


def family(character: str) -> str:
    """The emoji with its skin-tone modifiers removed: every tone of one emoji shares it."""
    return "".join(c for c in character if c not in SKIN_TONE_MODIFIERS)


def has_skin_tone(character: str) -> bool:
    return any(c in SKIN_TONE_MODIFIERS for c in character)


def unit_hash(*parts: object) -> float:
    """A number in [0, 1) fixed by `parts` (stable across processes and machines)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Split:
    train: tuple[str, ...]
    val: tuple[str, ...]


def held_out_split(characters: list[str], split_seed: int = 0, val_fraction: float = 0.05, tone_val_fraction: float = 0.3) -> Split:
    """Partition `characters` (keeping their order) into training and held-out emoji."""
    families: dict[str, list[str]] = {}
    for character in characters:
        families.setdefault(family(character), []).append(character)
    held: set[str] = set()
    for key, members in families.items():
        if unit_hash(split_seed, "family", key) < val_fraction:
            held.update(members)
            continue
        toned = [m for m in members if has_skin_tone(m)]
        if len(toned) >= 2 and unit_hash(split_seed, "tone", key) < tone_val_fraction:
            held.add(min(toned, key=lambda m: unit_hash(split_seed, "member", m)))
    return Split(
        train=tuple(c for c in characters if c not in held),
        val=tuple(c for c in characters if c in held),
    )
