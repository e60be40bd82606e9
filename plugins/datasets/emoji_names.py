"""Emoji captions from Unicode CLDR names, as the `emoji` package spells them.

The package writes ':thumbs_up_dark_skin_tone:' for CLDR "thumbs up: dark skin tone"; both
become "thumbs up, dark skin tone". CLDR puts qualifiers (skin tones, hair styles, the flag or
keycap a symbol stands on) after a colon; they are restored from the words the package keeps.
"""

from __future__ import annotations

import re

import emoji

SKIN_TONES: tuple[str, ...] = ("light", "medium-light", "medium", "medium-dark", "dark")
_TONE = re.compile(r" ((?:medium-light|medium-dark|light|medium|dark) skin tone)")
_HAIR = re.compile(r" (red hair|curly hair|white hair|blond hair|bald)$")
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)
_TAGS = range(0xE0020, 0xE0080)
PHRASINGS: tuple[str, ...] = ("{name}", "an emoji of {name}", "{name} emoji", "an icon of {name}")


def normalize_name(name: str) -> str:
    """':thumbs_up_dark_skin_tone:' or 'thumbs up: dark skin tone' -> 'thumbs up, dark skin tone'."""
    text = name.strip().strip(":").replace("_", " ").replace("’", "'")
    text = re.sub(r"\s*:\s*", ", ", text)
    text = _TONE.sub(r", \1", text)
    text = re.sub(r"skin tone (?=\w)", "skin tone, ", text)  # "medium skin tone, beard"
    text = _HAIR.sub(r", \1", text)
    text = re.sub(r"^keycap ", "keycap, ", text)
    text = re.sub(r",\s*,", ",", text)  # a qualifier after a CLDR colon is separated once
    return re.sub(r"\s+", " ", text).strip(" ,")


def is_flag(character: str) -> bool:
    """Country flags (regional indicator pairs) and subdivision flags (tag sequences)."""
    codes = [ord(c) for c in character]
    return all(c in _REGIONAL_INDICATORS for c in codes) or any(c in _TAGS for c in codes)


def emoji_name(character: str) -> str:
    """The caption of one emoji: its normalized CLDR name, flags named as CLDR does."""
    name = normalize_name(emoji.EMOJI_DATA[character]["en"])
    return f"flag, {name}" if is_flag(character) and not name.startswith("flag") else name


def phrase(name: str, phrasing: int = 0) -> str:
    return PHRASINGS[phrasing % len(PHRASINGS)].format(name=name)
