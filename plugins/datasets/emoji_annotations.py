"""Emoji captions beyond the name: CLDR keywords and the Unicode group an emoji is listed in.

A CLDR name says what one emoji is ("grinning squinting face"); its keywords say what it is
about ("face, grin, laugh, satisfied"), in words shared with other emoji, and its group says
what kind of emoji it is ("face smiling, smileys & emotion"). A caption model that has seen
those words with many images has a better chance with a name it never saw.

The `emoji` package has names only. The keywords come from CLDR's English annotations (Debian's
unicode-cldr-core), the groups from Unicode's emoji-test.txt (Debian's unicode-data).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from functools import lru_cache
from pathlib import Path

from unclip_core.errors import ConfigError

VARIATION_SELECTOR = "\ufe0f"  # CLDR's annotations leave it out; emoji-test.txt keeps it
ANNOTATIONS = ("cldr/common/annotations/en.xml", "cldr/common/annotationsDerived/en.xml")
EMOJI_TEST = "emoji/emoji-test.txt"
INSTALL_HINT = "install them with: apt-get install unicode-cldr-core unicode-data (or set data.unicode_dir)"


def keyword_caption(character: str, unicode_dir: str) -> str | None:
    """'face, grin, laugh' for one emoji; None when CLDR has no keywords for it."""
    words = _keywords(unicode_folder(unicode_dir)).get(character.replace(VARIATION_SELECTOR, ""))
    return ", ".join(words) if words else None


def group_caption(character: str, unicode_dir: str) -> str | None:
    """'face smiling, smileys & emotion' for one emoji; None when emoji-test.txt does not list it."""
    groups = _groups(unicode_folder(unicode_dir))
    found = groups.get(character) or groups.get(character.replace(VARIATION_SELECTOR, ""))
    if found is None:
        return None
    group, subgroup = found
    return f"{subgroup.replace('-', ' ')}, {group.lower()}"


@lru_cache(maxsize=4)  # asked once per caption; a refusal raises and is not remembered
def unicode_folder(unicode_dir: str) -> Path:
    """`unicode_dir`, once it is known to hold both packages' files; else one line naming them."""
    folder = Path(unicode_dir).expanduser()
    missing = [str(folder / name) for name in (*ANNOTATIONS, EMOJI_TEST) if not (folder / name).is_file()]
    if missing:
        raise ConfigError(f"emoji keyword and group captions need {', '.join(missing)}; {INSTALL_HINT}")
    return folder


@lru_cache(maxsize=2)
def _keywords(folder: Path) -> dict[str, tuple[str, ...]]:
    """Emoji (without variation selectors) -> its CLDR keywords, in CLDR's order."""
    keywords: dict[str, tuple[str, ...]] = {}
    for name in ANNOTATIONS:
        for annotation in ElementTree.parse(folder / name).iter("annotation"):
            if annotation.get("type") == "tts" or not annotation.text:
                continue  # the spoken name: the name caption already says it
            words = tuple(word.strip().replace("’", "'") for word in annotation.text.split("|") if word.strip())
            keywords.setdefault(annotation.get("cp", ""), words)
    return keywords


_LINE = re.compile(r"^([0-9A-F ]+?)\s*;\s*(fully-qualified|minimally-qualified|unqualified|component)\s*#")


@lru_cache(maxsize=2)
def _groups(folder: Path) -> dict[str, tuple[str, str]]:
    """Emoji -> (group, subgroup), as emoji-test.txt lists them."""
    groups: dict[str, tuple[str, str]] = {}
    group = subgroup = ""
    for line in (folder / EMOJI_TEST).read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif match := _LINE.match(line):
            groups["".join(chr(int(code, 16)) for code in match.group(1).split())] = (group, subgroup)
    return groups
