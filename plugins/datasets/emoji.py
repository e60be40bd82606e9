"""`type: emoji`: Noto Color Emoji rendered with Pillow, captioned with CLDR names."""

from __future__ import annotations

from functools import partial
from typing import Annotated, ClassVar

import numpy as np
import torch
from pydantic import Field
from torch.utils.data import Dataset

from unclip_core.interfaces import DataConfig, DataSource, Pair

from .emoji_cache import RenderSettings, cache_folder, load_or_render
from .emoji_names import PHRASINGS, emoji_name, phrase
from .emoji_render import find_font, load_font, render_emoji
from .emoji_split import fully_qualified_emoji, held_out_split, unit_hash
from .image_files import uint8_to_tensor

Channel = Annotated[int, Field(ge=0, le=255)]


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


class EmojiDataset(Dataset):
    """Rendered emoji held in memory as uint8; captions are chosen per emoji, deterministically."""

    def __init__(self, characters: list[str], pixels: np.ndarray, seed: int, phrasings: bool) -> None:
        if len(characters) != len(pixels):
            raise ValueError(f"{len(characters)} emoji but {len(pixels)} images")
        self.characters = characters
        self.pixels = pixels
        self.captions = [phrase(emoji_name(c), _phrasing(seed, c) if phrasings else 0) for c in characters]

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
        return self._subset(self._split().train)

    def val_set(self) -> EmojiDataset:
        return self._subset(self._split().val)

    def _split(self):
        c = self.config
        return held_out_split(list(self.images()), c.split_seed, c.val_fraction, c.tone_val_fraction)

    def _subset(self, characters: tuple[str, ...]) -> EmojiDataset:
        images = self.images()
        size = self.config.image_size
        pixels = np.stack([images[c] for c in characters]) if characters else np.zeros((0, size, size, 3), np.uint8)
        return EmojiDataset(list(characters), pixels, self.config.seed, self.config.phrasings)


def _renderer(config: EmojiConfig):
    """A function emoji -> pixels (or None); finding the font raises a ConfigError naming the package."""
    font = load_font(find_font(config.font))
    return partial(render_emoji, font=font, image_size=config.image_size, background=tuple(config.background), padding=config.padding)


def _phrasing(seed: int, character: str) -> int:
    return int(unit_hash(seed, "phrasing", character) * len(PHRASINGS))
