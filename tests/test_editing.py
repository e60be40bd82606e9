"""Editing operations on a briefly trained pipeline: what each must do, measured.

The pipeline (tests/editing_model.py) is trained once for this module: a CLIP and a 16px
decoder on 32 blob images named by color. Sources are training images, so the decoder knows
them; "other images" in CLIP-space checks are those of another color.
"""

from __future__ import annotations

import logging

import pytest
import torch
from PIL import Image

from unclip_core.errors import ConfigError, InputError
from unclip_core.images import from_pil, to_pil
from unclip_core.pipeline import Pipeline
from unclip_plugins.editing.decoding import INVERSION_STEPS, ddim_steps
from unclip_plugins.editing.text_diff import text_diff_embeddings, text_direction, thetas

from .blobs import blob_images
from .editing_model import COUNT, SIZE, train_editing_pipeline, with_upsampler

PICKS = [0, 2, 3, 6]  # a white, a yellow, a red and a blue disk



@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("editing")
    folder = train_editing_pipeline(root / "run")
    return folder, with_upsampler(folder, root / "upsampled")


@pytest.fixture(scope="module")
def pipe(folders) -> Pipeline:
    return Pipeline.from_pretrained(folders[0])


@pytest.fixture(scope="module")
def sources(pipe):
    images, captions = blob_images(COUNT, SIZE, seed=0)
    pictures = to_pil(images)
    return pictures, captions, pipe.encode_image(from_pil(pictures))


def mean_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().mean().item()


def square_mask(size: int, lo: int, hi: int) -> Image.Image:
    mask = Image.new("L", (size, size), 0)
    mask.paste(255, (lo, lo, hi, hi))
    return mask


# ---- variations -------------------------------------------------------------------------
def test_variations_spread_grows_with_eta_and_stay_close_in_clip_space(pipe, sources):
    pictures, captions, z_sources = sources
    etas = (0.0, 0.25, 0.5, 1.0)
    spread, distance = {eta: 0.0 for eta in etas}, {eta: 0.0 for eta in etas}
    for k in PICKS:
        source = from_pil([pictures[k]])
        other = torch.tensor([c != captions[k] for c in captions])
        for eta in etas:
            images = pipe.vary(pictures[k], n=6, eta=eta, seed=0)
            assert len(images) == 6 and images[0].size == (SIZE, SIZE)
            x = from_pil(images)
            spread[eta] += x.std(0).mean().item() / len(PICKS)
            distance[eta] += mean_abs(x, source) / len(PICKS)
            similarity = z_sources @ pipe.encode_image(x).mean(0)
            # Closer to their source than to any image of another color.
            assert similarity[k] > similarity[other].max() + 0.2, (k, eta, similarity[k], similarity[other].max())
    print(f"variations: pixel spread by eta {spread}, mean |x - source| by eta {distance}")
    assert spread[0.0] == 0  # eta 0 from the inverted x_T is deterministic ...
    assert distance[0.0] < 0.04  # ... and reconstructs the source (pixels in [-1, 1])
    assert spread[0.25] > 0.05  # variations differ in pixels
    assert spread[0.0] < spread[0.25] < spread[0.5] < spread[1.0]
    assert distance[0.0] < distance[0.25] < distance[0.5] < distance[1.0]


def test_variations_from_fresh_noise_differ_but_keep_the_embedding(pipe, sources):
    pictures, captions, z_sources = sources
    x = from_pil(pipe.vary(pictures[3], n=4, eta=0.0, keep_latent=False, seed=1))
    assert x.std(0).mean().item() > 0.1  # different noise per variation
    similarity = z_sources @ pipe.encode_image(x).mean(0)
    other = torch.tensor([c != captions[3] for c in captions])
    assert similarity[3] > similarity[other].max()


def test_variations_are_reproducible_with_a_seed(pipe, sources):
    pictures = sources[0]
    a = from_pil(pipe.vary(pictures[0], n=2, eta=0.8, seed=5))
    b = from_pil(pipe.vary(pictures[0], n=2, eta=0.8, seed=5))
    assert torch.equal(a, b)


def test_more_ddim_steps_give_an_image_back_more_faithfully(pipe, folders, sources):
    pictures = sources[0]
    source = from_pil([pictures[2]])
    error = {steps: mean_abs(from_pil(pipe.vary(pictures[2], n=1, eta=0.0, ddim_steps=steps, seed=0)), source)
             for steps in (4, 64)}
    print(f"variations at eta 0: mean |x - source| by DDIM steps {error}")
    assert error[64] < error[4]
    # Unless told, edits take INVERSION_STEPS, or the decoder sampler's steps where it takes more.
    assert ddim_steps(pipe, None) == INVERSION_STEPS > pipe.components.decoder.sampler.steps
    finer = Pipeline.from_pretrained(folders[0], overrides=[f"decoder.sampler.steps={INVERSION_STEPS + 36}"])
    assert ddim_steps(finer, None) == INVERSION_STEPS + 36 and ddim_steps(finer, 8) == 8
    shorter = Pipeline.from_pretrained(folders[0], overrides=["decoder.timesteps=40", "decoder.sampler.steps=20"])
    assert ddim_steps(shorter, None) == 40  # a schedule of 40 timesteps bounds the default
    assert len(shorter.vary(pictures[2], n=1, seed=0)) == 1
    with pytest.raises(ConfigError, match="ddim_steps"):
        pipe.vary(pictures[2], ddim_steps=1)


# ---- interpolation ----------------------------------------------------------------------
def test_interpolation_end_frames_reconstruct_their_sources(pipe, sources):
    pictures = sources[0]
    a, b = from_pil([pictures[0]]), from_pil([pictures[3]])
    frames = pipe.interpolate(pictures[0], pictures[3], frames=6, seed=0)
    assert len(frames) == 6 and all(f.size == (SIZE, SIZE) for f in frames)
    x = from_pil(frames)
    ends = mean_abs(x[0], a[0]), mean_abs(x[-1], b[0])
    gap = mean_abs(a, b)
    print(f"interpolation: end-frame errors {ends}, distance between sources {gap:.3f}")
    assert max(ends) < 0.04 < gap
    # Frames move from a to b: distance to a grows (roughly) and distance to b shrinks.
    to_a = [mean_abs(f, a[0]) for f in x]
    assert to_a[0] < to_a[2] < to_a[-1]


def test_interpolation_with_one_fixed_noise_and_between_prompts(pipe, sources):
    pictures = sources[0]
    fixed = pipe.interpolate(pictures[0], pictures[3], frames=3, latent="fixed", seed=0)
    prompts = pipe.interpolate(prompts=["a red disk", "a blue disk"], frames=4, seed=0)
    assert len(fixed) == 3 and len(prompts) == 4
    assert all(f.size == (SIZE, SIZE) for f in fixed + prompts)
    with pytest.raises(InputError, match="either two images or two prompts"):
        pipe.interpolate(pictures[0], pictures[3], prompts=["a", "b"])


# ---- text diffs -------------------------------------------------------------------------
def test_text_diff_embeddings_move_monotonically_toward_the_caption_direction(pipe, sources):
    z_i = sources[2][3]  # a red disk
    z_t = pipe.encode_text(["a red disk", "a blue disk"]).embedding
    z = text_diff_embeddings(z_i, z_t[0], z_t[1], thetas(6, 0.5))
    toward = z @ text_direction(z_t[0], z_t[1])
    assert torch.allclose(z.norm(dim=-1), torch.ones(6))
    assert torch.equal(z[0], z_i)
    assert (toward.diff() > 0).all() and ((z @ z_i).diff() < 0).all()


def test_text_diff_decodes_images_that_move_toward_the_target(pipe, sources):
    pictures = sources[0]
    source, target = "a white disk", "a red disk"
    frames = pipe.text_diff(pictures[0], source, target, steps=4, max_theta=0.5, seed=0)
    assert len(frames) == 4 and frames[0].size == (SIZE, SIZE)
    z_t = pipe.encode_text([source, target]).embedding
    toward = pipe.encode_image(from_pil(frames)) @ text_direction(z_t[0], z_t[1])
    print(f"text diff: decoded images' dot with z_d by theta: {toward.tolist()}")
    assert mean_abs(from_pil(frames[:1]), from_pil(pictures[:1])) < 0.08  # theta 0 is the image
    assert toward[-1] > toward[0] + 0.3
    with pytest.raises(InputError, match="embed identically"):
        pipe.text_diff(pictures[0], "a red disk", "a red disk")


# ---- inpainting and outpainting ---------------------------------------------------------
def test_inpainting_keeps_unmasked_pixels_exactly(pipe, sources):
    pictures = sources[0]
    mask = square_mask(SIZE, 4, 12)
    keep = from_pil([mask])[0, 0] < 0
    original = from_pil(pictures[:1])
    for options in ({}, {"resample": 3, "jump": 4}):
        out = from_pil(pipe.inpaint(pictures[0], mask, "a blue disk", n=2, seed=0, **options))
        assert out.shape == (2, 3, SIZE, SIZE)
        assert torch.equal(out[..., keep], original.expand(2, -1, -1, -1)[..., keep]), options
        assert mean_abs(out[..., ~keep], original.expand(2, -1, -1, -1)[..., ~keep]) > 0.02  # it did regenerate
    # Without a prompt the image's own embedding fills the hole.
    out = from_pil(pipe.inpaint(pictures[0], mask, seed=0))
    assert torch.equal(out[..., keep], original[..., keep])


def test_inpainting_pastes_known_pixels_back_after_upsampling(folders, sources):
    upsampled = Pipeline.from_pretrained(folders[1])
    picture = sources[0][2].resize((2 * SIZE, 2 * SIZE), Image.Resampling.BICUBIC)
    mask = square_mask(2 * SIZE, 6, 20)
    keep = from_pil([mask])[0, 0] < 0
    out = from_pil(upsampled.inpaint(picture, mask, "a green disk", seed=0))
    assert out.shape == (1, 3, 2 * SIZE, 2 * SIZE)
    assert torch.equal(out[..., keep], from_pil([picture])[..., keep])


def test_inpainting_other_sizes_keeps_the_input_resolution(pipe, sources, caplog):
    picture = sources[0][0].resize((24, 24), Image.Resampling.BICUBIC)
    small_mask = square_mask(12, 3, 9)  # half size, same shape: resized to the image's
    with caplog.at_level(logging.INFO, logger="unclip.editing"):
        out = from_pil(pipe.inpaint(picture, small_mask, "a red disk", seed=0))
    assert "resized the mask from 12x12 to the image's 24x24" in caplog.text
    assert "generating at the model's 16x16 for a 24x24 canvas" in caplog.text
    keep = from_pil([small_mask.resize((24, 24), Image.Resampling.BILINEAR)])[0, 0] < 0
    assert out.shape == (1, 3, 24, 24)
    assert torch.equal(out[..., keep], from_pil([picture])[..., keep])


def test_outpainting_keeps_the_original_in_the_centre(pipe, sources):
    picture = sources[0][6]
    original = from_pil([picture])
    out = from_pil(pipe.outpaint(picture, "a blue disk", pad=4, seed=0))
    assert out.shape == (1, 3, SIZE + 8, SIZE + 8)
    assert torch.equal(out[..., 4:4 + SIZE, 4:4 + SIZE], original)
    # Per-side pads: a wide canvas, generated in a square and cropped; the original stays in place.
    out = from_pil(pipe.outpaint(picture, pad_left=8, pad_right=4, seed=0))
    assert out.shape == (1, 3, SIZE, SIZE + 12)
    assert torch.equal(out[..., :, 8:8 + SIZE], original)
    assert out[..., :, :8].std() > 0.01  # the border was filled, not left flat
    with pytest.raises(InputError, match="nothing to outpaint"):
        pipe.outpaint(picture, pad=0)


# ---- inputs -----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["RGBA", "L", "P", "CMYK"])
def test_any_image_mode_is_accepted(pipe, sources, mode):
    picture = sources[0][0].convert(mode)
    out = pipe.inpaint(picture, square_mask(SIZE, 4, 12), seed=0)
    assert out[0].mode == "RGB" and out[0].size == (SIZE, SIZE)


def test_bad_inputs_get_clear_errors(pipe, sources, tmp_path):
    picture = sources[0][0]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    with pytest.raises(InputError, match=r"image file .*broken\.png is not a readable image"):
        pipe.vary(broken)
    with pytest.raises(InputError, match="does not exist"):
        pipe.vary(tmp_path / "missing.png")
    with pytest.raises(InputError, match=r"mask is 16x8 but the image is 16x16, a different shape"):
        pipe.inpaint(picture, Image.new("L", (16, 8), 255))
    with pytest.raises(InputError, match="all black: nothing to regenerate; paint the region to regenerate white"):
        pipe.inpaint(picture, Image.new("L", (SIZE, SIZE), 0))
    with pytest.raises(InputError, match="all white: nothing of the image is kept"):
        pipe.inpaint(picture, Image.new("L", (SIZE, SIZE), 255))
    with pytest.raises(ConfigError, match="has no option 'etaa'"):
        pipe.vary(picture, etaa=0.5)
    with pytest.raises(ConfigError, match="variations.eta"):
        pipe.vary(picture, eta=-1)
    with pytest.raises(InputError, match="n:"):
        pipe.vary(picture, n=0)


def test_images_of_another_size_are_resized_with_a_note(pipe, sources, caplog):
    picture = sources[0][0].resize((40, 30))
    with caplog.at_level(logging.INFO, logger="unclip.editing"):
        images = pipe.vary(picture, n=1, seed=0)
    assert "resized the image from 40x30 to 16x16" in caplog.text and "stretched" in caplog.text
    assert images[0].size == (SIZE, SIZE)


# ---- the command line -------------------------------------------------------------------
@pytest.fixture(scope="module")
def files(tmp_path_factory, sources):
    root = tmp_path_factory.mktemp("cli")
    pictures = sources[0]
    paths = {"a": root / "a.png", "b": root / "b.jpg", "mask": root / "mask.png", "bad_mask": root / "bad_mask.png"}
    pictures[0].save(paths["a"])
    pictures[3].save(paths["b"], quality=95)
    square_mask(SIZE, 4, 12).save(paths["mask"])
    Image.new("L", (SIZE, SIZE), 0).save(paths["bad_mask"])
    return root, paths


@pytest.mark.parametrize("command,size", [
    (["vary", "{a}", "-n", "4", "--eta", "0.8"], (2 * SIZE + 2, 2 * SIZE + 2)),  # tiles 2px apart
    (["interpolate", "{a}", "{b}", "--frames", "3", "--gif", "{out}.gif"], (3 * SIZE + 4, SIZE)),
    (["interpolate", "--prompts", "a red disk", "a blue disk", "--frames", "2"], (2 * SIZE + 2, SIZE)),
    (["textdiff", "{a}", "--from", "a white disk", "--to", "a red disk", "--steps", "3"], (3 * SIZE + 4, SIZE)),
    (["inpaint", "{a}", "--mask", "{mask}", "a blue disk", "--resample", "2"], (SIZE, SIZE)),
    (["outpaint", "{a}", "--pad", "4", "a blue disk"], (SIZE + 8, SIZE + 8)),
], ids=["vary", "interpolate", "interpolate-prompts", "textdiff", "inpaint", "outpaint"])
def test_commands_write_their_image(folders, files, command, size, capsys):
    from unclip_core.cli import main

    root, paths = files
    out = root / f"{command[0]}-{len(command)}.png"
    args = [part.format(out=out, **paths) for part in command]
    assert main([*args, "--model", str(folders[0]), "--seed", "1", "-o", str(out)]) == 0
    assert Image.open(out).size == size
    assert f"to {out}" in capsys.readouterr().out
    if "--gif" in command:
        gif = Image.open(f"{out}.gif")
        assert gif.n_frames == 4  # 3 frames forward, then back (the middle one once more)
    assert not list(root.glob(".*.tmp"))  # written atomically: no temporary file left


def test_commands_report_bad_input_in_one_line(folders, files, capsys):
    from unclip_core.cli import main

    root, paths = files
    out = root / "never.png"
    code = main(["inpaint", str(paths["a"]), "--mask", str(paths["bad_mask"]), "x", "--model", str(folders[0]), "-o", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not out.exists()
    assert err.startswith("error: mask ") and "all black" in err and "\n" not in err
    assert main(["interpolate", str(paths["a"]), "--model", str(folders[0]), "-o", str(out)]) == 2
    assert "give two images" in capsys.readouterr().err


def test_an_edit_takes_sampling_settings_for_one_call(pipe, folders, sources):
    """decoder_options on an edit draw what a pipeline loaded with the same override draws,
    and the pipeline keeps its own settings."""
    pictures = sources[0]
    settings = {"guidance_scale": 3.0, "condition_on_image": False}
    overridden = Pipeline.from_pretrained(folders[0], overrides=["decoder.guidance_scale=3.0", "decoder.condition_on_image=false"])
    before = pipe.components.decoder.config
    plain = pipe.outpaint(pictures[0], "a blue disk", pad_left=4, seed=0)
    asked = pipe.outpaint(pictures[0], "a blue disk", pad_left=4, seed=0, decoder_options=settings)
    expected = overridden.outpaint(pictures[0], "a blue disk", pad_left=4, seed=0)
    assert from_pil(asked).equal(from_pil(expected)) and not from_pil(asked).equal(from_pil(plain))
    assert pipe.components.decoder.config is before and before.condition_on_image and before.guidance_scale != 3.0
    with pytest.raises(InputError, match="'channels' is not a sampling setting of the decoder"):
        pipe.vary(pictures[0], n=1, decoder_options={"channels": 8})


def test_edit_commands_take_graph_overrides(folders, files, capsys):
    from unclip_core.cli import main

    root, paths = files
    out, expected = root / "set.png", root / "expected.png"
    args = ["outpaint", str(paths["a"]), "--pad", "4", "a blue disk", "--seed", "1"]
    assert main([*args, "--model", str(folders[0]), "--set", "decoder.guidance_scale=3.0", "-o", str(out)]) == 0
    overridden = Pipeline.from_pretrained(folders[0], overrides=["decoder.guidance_scale=3.0"])
    overridden.outpaint(str(paths["a"]), "a blue disk", pad=4, seed=1)[0].save(expected)
    assert from_pil([Image.open(out).convert("RGB")]).equal(from_pil([Image.open(expected).convert("RGB")]))
    capsys.readouterr()
    code = main([*args, "--model", str(folders[0]), "--set", "decoder.guidance_scal=1", "-o", str(root / "never.png")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "guidance_scal" in err and "\n" not in err and not (root / "never.png").exists()

