"""Rendering emoji with the Noto Color Emoji font (Debian: fonts-noto-color-emoji)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from unclip_core.errors import ConfigError

FONT_FILE = "NotoColorEmoji.ttf"
FONT_DIRS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/noto",  # Debian, Ubuntu
    "/usr/share/fonts/noto",  # Arch
    "/usr/share/fonts/google-noto-color-emoji",  # Fedora
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
)
# The bitmap strike of Noto Color Emoji: glyphs are 136x128 pixels at this size.
FONT_SIZE = 109
GLYPH_WIDTH = 136
INSTALL_HINT = "install it with `apt-get install fonts-noto-color-emoji` (Debian/Ubuntu) or set data.font to the file"


def find_font(path: str | None = None) -> Path:
    """The font file: `path` when given, else the first of the usual install locations."""
    candidates = [Path(path).expanduser()] if path else [Path(d).expanduser() / FONT_FILE for d in FONT_DIRS]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise ConfigError(f"emoji font {FONT_FILE} not found (looked in {looked}); {INSTALL_HINT}")


@lru_cache(maxsize=4)
def load_font(path: Path) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(str(path), FONT_SIZE)
    except OSError as exc:
        raise ConfigError(f"cannot load emoji font {path} ({exc}); {INSTALL_HINT}") from exc


def render_glyph(character: str, font: ImageFont.FreeTypeFont) -> Image.Image | None:
    """The emoji's RGBA pixels cropped to what it covers, or None when the font cannot show it.

    Missing glyphs draw nothing; sequences the font lacks fall apart into several glyphs side
    by side (wider than one glyph): neither is a picture of the emoji.
    """
    left, top, right, bottom = font.getbbox(character)
    if bottom <= top or right - left > GLYPH_WIDTH:
        return None
    canvas = Image.new("RGBA", (right, bottom), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((0, 0), character, font=font, embedded_color=True)
    box = canvas.getchannel("A").getbbox()
    return canvas.crop(box) if box else None


def frame(glyph: Image.Image, image_size: int, background: tuple[int, int, int], padding: float) -> np.ndarray:
    """Center the glyph on a square background with `padding` (fraction of the side) all round,
    then resize with antialiasing: (image_size, image_size, 3) uint8."""
    side = round(max(glyph.size) / (1 - 2 * padding))
    canvas = Image.new("RGBA", (side, side), (*background, 255))
    canvas.alpha_composite(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
    image = canvas.convert("RGB").resize((image_size, image_size), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8)


def render_emoji(character: str, font: ImageFont.FreeTypeFont, image_size: int, background: tuple[int, int, int], padding: float) -> np.ndarray | None:
    glyph = render_glyph(character, font)
    return None if glyph is None else frame(glyph, image_size, background, padding)
