"""`type: emoji`: Noto Color Emoji rendered with Pillow, captioned with CLDR names (and, for
training, optionally CLDR keywords and Unicode groups as well: emoji_annotations.py)."""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import Annotated, ClassVar, Literal

import numpy as np
import torch
from pydantic import Field, field_validator
from torch.utils.data import Dataset

from unclip_core.errors import ConfigError
from unclip_core.interfaces import DataConfig, DataSource, Pair

from .emoji_annotations import group_caption, keyword_caption, unicode_folder
from .emoji_cache import RenderSettings, cache_folder, load_or_render
from .emoji_names import PHRASINGS, emoji_name, phrase
from .emoji_render import find_font, load_font, render_emoji
from .emoji_split import Split, family, fully_qualified_emoji, held_out_split, unit_hash
from .image_files import uint8_to_tensor

Channel = Annotated[int, Field(ge=0, le=255)]
CaptionKind = Literal["name", "keywords", "group"]


class EmojiConfig(DataConfig):
    font: str | None = Field(None, description="Path to NotoColorEmoji.ttf; null searches the usual font folders.")
    cache_dir: str = Field("~/.cache/unclip/emoji", description="Rendered images are kept under <cache_dir>/<image_size>/.")
    background: tuple[Channel, Channel, Channel] = (255, 255, 255)
    padding: float = Field(0.06, ge=0, lt=0.5, description="Margin around the emoji, as a fraction of the side.")
    phrasings: bool = Field(False, description="Caption some items 'an emoji of ...', '... emoji' instead of the bare name.")
    split_seed: int = Field(0, description="Fixes the held-out split; independent of `seed`.")
    val_fraction: float = Field(0.05, ge=0, le=1, description="Fraction of emoji families held out whole.")
    tone_val_fraction: float = Field(0.3, ge=0, le=1, description="Fraction of toned families that hold out one tone.")
    limit: int | None = Field(None, ge=1, description="Use only the first N emoji (code point order), for quick runs.")
    family_fraction: float = Field(
        1.0, gt=0, le=1,
        description="Use only this fraction of skin-tone families, whole, chosen by `split_seed`: a quick run on a set "
        "with the full set's mix of single emoji and toned families (`limit` keeps code point order's mix).",
    )
    family_balance: float = Field(
        0.0, ge=0, le=1,
        description="How training draws are spread over skin-tone families: an emoji's chance is divided by its family's "
        "size (training members) to this power. 0 draws every emoji equally often; 1 draws every family equally often, "
        "so the 1,505 emoji that have no tones are not outweighed by families of 4 to 26 tones.",
    )
    captions: list[CaptionKind] = Field(
        ["name"], min_length=1,
        description="The captions each training emoji is paired with, one pair each: its CLDR name (phrased as `phrasings` "
        "says), its CLDR keywords ('face, grin, laugh'), its Unicode group ('face smiling, smileys & emotion'). "
        "Held-out emoji keep their name only. keywords and group read `unicode_dir`.",
    )
    unicode_dir: str = Field("/usr/share/unicode", description="Where Debian's unicode-cldr-core and unicode-data put CLDR's annotations and emoji-test.txt.")

    @field_validator("captions")
    @classmethod
    def _distinct(cls, kinds: list[str]) -> list[str]:
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"lists a caption kind twice: {kinds}; give each of name, keywords, group at most once")
        return kinds


class EmojiDataset(Dataset):
    """Rendered emoji held in memory as uint8, one item per (emoji, caption) pair: an emoji
    captioned several ways appears once per caption."""

    def __init__(self, characters: list[str], pixels: np.ndarray, captions: list[str]) -> None:
        if not len(characters) == len(pixels) == len(captions):
            raise ValueError(f"{len(characters)} emoji, {len(pixels)} images and {len(captions)} captions")
        self.characters = characters
        self.pixels = pixels
        self.captions = captions

    def __len__(self) -> int:
        return len(self.characters)

    def __getitem__(self, index: int) -> Pair:
        return {"image": uint8_to_tensor(self.pixels[index]), "caption": self.captions[index]}

    def columns(self) -> dict[str, torch.Tensor | list[str]]:
        """The whole set at once, for training from device memory: uint8 (N, 3, S, S) pixels."""
        return {"image": torch.from_numpy(self.pixels).permute(0, 3, 1, 2).contiguous(), "caption": list(self.captions)}


class EmojiSource(DataSource):
    """Noto Color Emoji (~3,800 images) with CLDR-name captions and a held-out split of whole emoji and skin tones."""

    name: ClassVar[str] = "emoji"
    Config: ClassVar[type[EmojiConfig]] = EmojiConfig
    fits_in_memory: ClassVar[bool] = True

    def __init__(self, config: EmojiConfig) -> None:
        super().__init__(config)
        self.config: EmojiConfig = config
        self._images: dict[str, np.ndarray] | None = None
        # Built once: training asks for the split several times (checks, weights, the feed).
        self._held_out: Split | None = None
        self._train: EmojiDataset | None = None
        if set(config.captions) - {"name"}:
            unicode_folder(config.unicode_dir)  # refused now, before a run starts writing anything

    @property
    def settings(self) -> RenderSettings:
        c = self.config
        return RenderSettings(c.image_size, tuple(c.background), c.padding, c.limit)

    def images(self) -> dict[str, np.ndarray]:
        """emoji -> (S, S, 3) uint8 for every emoji the font renders; from the cache after the first run."""
        if self._images is None:
            candidates = fully_qualified_emoji()[: self.config.limit]
            folder = cache_folder(self.config.cache_dir, self.settings)
            font_name = str(self.config.font or "")
            self._images = load_or_render(folder, self.settings, candidates, partial(_renderer, self.config), font_name)
        return self._images

    def train_set(self) -> EmojiDataset:
        if self._train is None:
            self._train = self._subset(self._split().train, self.config.captions)
        return self._train

    def val_set(self) -> EmojiDataset:
        # Held-out emoji are asked for by name: validation retrieval ranks names among names.
        return self._subset(self._split().val, ["name"])

    def train_weights(self) -> torch.Tensor | None:
        if self.config.family_balance == 0:
            return None
        characters = self.train_set().characters  # one per item: an emoji captioned k ways is k items
        members = Counter(family(c) for c in dict.fromkeys(characters))  # training emoji per family
        return torch.tensor([members[family(c)] for c in characters], dtype=torch.float64) ** -self.config.family_balance

    def _split(self) -> Split:
        if self._held_out is None:
            self._held_out = self._choose_split()
        return self._held_out

    def _choose_split(self) -> Split:
        c = self.config
        characters = list(self.images())
        if c.family_fraction < 1:
            characters = [e for e in characters if unit_hash(c.split_seed, "subset", family(e)) < c.family_fraction]
        split = held_out_split(characters, c.split_seed, c.val_fraction, c.tone_val_fraction)
        if not split.train:
            raise ConfigError(
                f"data: no training emoji are left: limit {c.limit} and family_fraction {c.family_fraction} keep "
                f"{len(characters)} emoji, {len(split.val)} of them held out; raise data.limit or data.family_fraction"
            )
        return split

    def _subset(self, characters: tuple[str, ...], kinds: list[str]) -> EmojiDataset:
        """One item per emoji and caption kind; an emoji without a caption of some kind (CLDR
        has no keywords for emoji newer than it) has no item of that kind."""
        pairs = [(c, caption) for c in characters for kind in kinds if (caption := self._caption(c, kind)) is not None]
        images = self.images()
        size = self.config.image_size
        pixels = np.stack([images[c] for c, _ in pairs]) if pairs else np.zeros((0, size, size, 3), np.uint8)
        return EmojiDataset([c for c, _ in pairs], pixels, [caption for _, caption in pairs])

    def _caption(self, character: str, kind: str) -> str | None:
        c = self.config
        if kind == "keywords":
            return keyword_caption(character, c.unicode_dir)
        if kind == "group":
            return group_caption(character, c.unicode_dir)
        return phrase(emoji_name(character), _phrasing(c.seed, character) if c.phrasings else 0)


def _renderer(config: EmojiConfig):
    """A function emoji -> pixels (or None); finding the font raises a ConfigError naming the package."""
    font = load_font(find_font(config.font))
    return partial(render_emoji, font=font, image_size=config.image_size, background=tuple(config.background), padding=config.padding)


def _phrasing(seed: int, character: str) -> int:
    return int(unit_hash(seed, "phrasing", character) * len(PHRASINGS))
