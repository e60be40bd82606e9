"""Write docs/images/editing_*.png: one example per editing operation, from a pipeline folder.

    PYTHONPATH=. python scripts/editing_examples.py --model PIPELINE_FOLDER [--out docs/images]

Sources are items of the `shapes` set, or with `--source emoji` (for the bundled emoji model)
rendered emoji, at the pipeline's output size; tiles are shown enlarged (nearest neighbour,
--scale) so small models' images stay visible.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from unclip_core.image_output import grid, save_image
from unclip_core.images import to_pil
from unclip_core.pipeline import Pipeline
from unclip_plugins.datasets.emoji import EmojiConfig, EmojiSource
from unclip_plugins.datasets.shapes import ShapesConfig, ShapesSource

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"


def find(items, *words: str, skip: int = 0) -> tuple[Image.Image, str]:
    """The first shapes item (after `skip` matches) whose caption has every word."""
    for i in range(len(items)):
        caption = items[i]["caption"]
        if all(f" {w} " in f" {caption} " for w in words):
            if skip == 0:
                return to_pil(items[i]["image"][None])[0], caption
            skip -= 1
    raise SystemExit(f"no shapes item has {words} in its caption")


def enlarge(images: list[Image.Image], scale: int) -> list[Image.Image]:
    return [i.resize((i.width * scale, i.height * scale), Image.Resampling.NEAREST) for i in images]


def mask_like(image: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    """White (regenerate) inside `box`, given as fractions of the side."""
    mask = Image.new("L", image.size, 0)
    w, h = image.size
    mask.paste(255, (round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h)))
    return mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="pipeline folder or registered model (default: registry.yaml's default_model)")
    parser.add_argument("--out", default=str(OUT), help="folder for the PNGs")
    parser.add_argument("--scale", type=int, default=3, help="display enlargement of every tile")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", choices=["shapes", "emoji"], default="shapes", help="where source images come from")
    args = parser.parse_args()
    out, s, seed = Path(args.out), args.scale, args.seed
    out.mkdir(parents=True, exist_ok=True)

    pipe = Pipeline.from_pretrained(args.model)
    c = pipe.components
    size = c.upsamplers[-1].to_size if c.upsamplers else c.decoder.image_size
    if args.source == "emoji":
        emoji_examples(pipe, EmojiSource(EmojiConfig(image_size=size)).train_set(), out, s, seed, size)
        return
    items = ShapesSource(ShapesConfig(image_size=size, phrasings=False, train_size=512)).train_set()

    # Variations: one row per eta (0, 0.5, 1), each [source, 4 variations].
    source, _ = find(items, "large", "red")
    rows = []
    for eta in (0.0, 0.5, 1.0):
        rows += [source, *pipe.vary(source, n=4, eta=eta, seed=seed)]
    save_image(grid(enlarge(rows, s), columns=5), out / "editing_variations.png")

    # Interpolation between two images, inverted latents at both ends.
    a, _ = find(items, "large", "blue", "circle")
    b, _ = find(items, "large", "square")
    save_image(grid(enlarge(pipe.interpolate(a, b, frames=8, seed=seed), s)), out / "editing_interpolation.png")

    # Text diff: the color word changes between the two captions.
    image, caption = find(items, "large", "green")
    frames = pipe.text_diff(image, caption, caption.replace("green", "red"), steps=5, max_theta=0.5, seed=seed)
    save_image(grid(enlarge(frames, s)), out / "editing_text_diff.png")

    # Inpainting: [source, mask, 3 fills without and 3 with RePaint resampling].
    image, caption = find(items, "large", "center")
    mask = mask_like(image, (0.2, 0.2, 0.8, 0.8))
    prompt = "a large purple circle at the center"
    fills = pipe.inpaint(image, mask, prompt, n=3, seed=seed) + pipe.inpaint(image, mask, prompt, n=3, resample=4, seed=seed)
    save_image(grid(enlarge([image, mask.convert("RGB"), *fills], s), columns=8), out / "editing_inpaint.png")

    # Outpainting: a quarter of the side added all round.
    image, caption = find(items, "small", "center")
    filled = pipe.outpaint(image, caption, pad=size // 4, n=3, seed=seed)
    save_image(grid(enlarge([image, *filled], s)), out / "editing_outpaint.png")
    print(f"wrote docs images to {out}")


def emoji_examples(pipe: Pipeline, items, out: Path, s: int, seed: int, size: int) -> None:
    """The same five figures from rendered emoji, edited with emoji names as captions."""

    def named(name: str) -> Image.Image:
        for i in range(len(items)):
            if items[i]["caption"] == name:
                return to_pil(items[i]["image"][None])[0]
        raise SystemExit(f"no emoji is named '{name}' in the training split")

    rows = []
    for eta in (0.0, 0.5, 1.0):
        rows += [named("grinning face"), *pipe.vary(named("grinning face"), n=4, eta=eta, seed=seed)]
    save_image(grid(enlarge(rows, s), columns=5), out / "editing_variations.png")
    frames = pipe.interpolate(named("red heart"), named("grinning face"), frames=8, seed=seed)
    save_image(grid(enlarge(frames, s)), out / "editing_interpolation.png")
    frames = pipe.text_diff(named("red heart"), "red heart", "blue heart", steps=5, max_theta=0.5, seed=seed)
    save_image(grid(enlarge(frames, s)), out / "editing_text_diff.png")
    image = named("thumbs up")
    mask = mask_like(image, (0.25, 0.25, 0.75, 0.75))
    fills = pipe.inpaint(image, mask, "red heart", n=3, seed=seed) + pipe.inpaint(image, mask, "red heart", n=3, resample=4, seed=seed)
    save_image(grid(enlarge([image, mask.convert("RGB"), *fills], s), columns=8), out / "editing_inpaint.png")
    image = named("sun")
    save_image(grid(enlarge([image, *pipe.outpaint(image, "sun", pad=size // 4, n=3, seed=seed)], s)), out / "editing_outpaint.png")
    print(f"wrote docs images to {out}")


if __name__ == "__main__":
    main()
