"""What editing operations accept: image files or PIL images in any mode, and masks.

Masks are white where the image is regenerated and black where it is kept; gray levels are
binarized at half intensity.
"""

from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path
from typing import Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from unclip_core.budget import max_pixels
from unclip_core.errors import InputError
from unclip_core.images import from_pil, resize

log = logging.getLogger("unclip.editing")

ImageSource = Union[Image.Image, str, Path]
MASK_THRESHOLD = 0.5


def describe(source: ImageSource, what: str) -> str:
    return f"{what} {source}" if isinstance(source, (str, Path)) else f"the {what}"


def open_image(source: ImageSource, what: str = "image") -> Image.Image:
    """An RGB copy of `source`; transparent pixels are laid over white, not turned black."""
    if isinstance(source, Image.Image):
        return to_rgb(source)
    path = Path(source)
    if not path.is_file():
        raise InputError(f"{what} file {path} does not exist; give the path of a PNG or JPEG file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()
                return to_rgb(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise InputError(
            f"{what} file {path} is not a readable image ({type(exc).__name__}: {exc}); "
            "give an intact PNG, JPEG or WebP file"
        ) from None


def to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image.copy()
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return image.convert("RGB")  # L, P, CMYK, I, F, ...


def image_tensor(image: Image.Image) -> Tensor:
    """(1, 3, H, W) in [-1, 1] at the image's own size (exactly invertible by to_pil)."""
    return from_pil([image])


def load_image(source: ImageSource, size: int | tuple[int, int]) -> Tensor:
    """Open any image source as a (1, 3, H, W) tensor in [-1, 1] at the model's size."""
    return resized(image_tensor(open_image(source)), size)


def resized(images: Tensor, size: int | tuple[int, int], what: str = "image") -> Tensor:
    """Images resized to `size` (antialiased bicubic), logging that they were."""
    target = (size, size) if isinstance(size, int) else tuple(size)
    height, width = images.shape[-2:]
    if (height, width) == target:
        return images
    log.info("resized the %s from %dx%d to %dx%d", what, width, height, target[1], target[0])
    if height * target[1] != width * target[0]:
        log.info("the %s's aspect ratio differs from %dx%d's, so it is stretched; crop it first to avoid that",
                 what, target[1], target[0])
    return resize(images, target)


def open_mask(source: ImageSource, size: tuple[int, int]) -> Tensor:
    """A binary (1, 1, H, W) float mask for an image of `size` (width, height): 1 = regenerate.

    A mask of another size is resized only when its aspect ratio is the image's.
    """
    mask = open_image(source, "mask").convert("L")
    where = describe(source, "mask")
    if mask.size != size:
        (mw, mh), (w, h) = mask.size, size
        if mw * h != mh * w:
            raise InputError(
                f"{where} is {mw}x{mh} but the image is {w}x{h}, a different shape; "
                f"draw the mask at {w}x{h} (white = regenerate, black = keep)"
            )
        log.info("resized the mask from %dx%d to the image's %dx%d", mw, mh, w, h)
        mask = mask.resize(size, Image.Resampling.BILINEAR)
    pixels = np.asarray(mask, dtype=np.float32) / 255.0
    low, high = float(pixels.min()), float(pixels.max())
    if low == high and 0.0 < low < 1.0:
        # Binarizing would turn it all black or all white, and either message would misdescribe it.
        raise InputError(
            f"{where} is one uniform grey (level {round(low * 255)} of 255) with no region marked; "
            "paint the region to regenerate white and the rest black"
        )
    return torch.from_numpy(pixels >= MASK_THRESHOLD).float()[None, None]


def check_inpainting_mask(mask: Tensor, where: str = "the mask") -> None:
    """A mask must keep something and regenerate something."""
    if not bool(mask.any()):
        raise InputError(
            f"{where} is all black: nothing to regenerate; paint the region to regenerate white"
        )
    if bool(mask.all()):
        raise InputError(
            f"{where} is all white: nothing of the image is kept; paint the region to keep black, "
            "or generate a new image from the prompt instead"
        )


def check_canvas(width: int, height: int, side: int, count: int = 1) -> None:
    """Refuse `count` square canvases (outpainting's) of more pixels than the sampling budget,
    before any is allocated: results are pasted at the canvas's full size."""
    limit = max_pixels()
    if count * side * side > limit:
        fits = math.isqrt(limit // count)
        many = f"{count} padded canvases of this {width}x{height} image are {side}x{side} each"
        one = f"the padded canvas of this {width}x{height} image is {side}x{side}"
        raise InputError(
            f"{many if count > 1 else one}: {count * side * side:,} pixels, over the sampling budget of "
            f"{limit:,} pixels (at most {fits}x{fits}{' each' if count > 1 else ''}); use smaller pads"
            f"{' or fewer results' if count > 1 else ''}, or raise the budget with UNCLIP_MAX_PIXELS"
        )


def coverage(mask: Tensor, size: int) -> Tensor:
    """The mask at size x size: a pixel is regenerated if any part of it was (never shrinks the hole)."""
    if tuple(mask.shape[-2:]) == (size, size):
        return mask
    return (F.interpolate(mask, size=(size, size), mode="area") > 0).to(mask.dtype)
