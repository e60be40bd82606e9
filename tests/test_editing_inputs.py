"""The editing plugin's pure parts: slerp, mask reading, coverage and the outpainting layout."""

import math

import pytest
import torch
from PIL import Image

from unclip_core.errors import InputError
from unclip_core.image_output import grid, save_gif, save_image
from unclip_plugins.editing.inputs import check_inpainting_mask, coverage, open_image, open_mask
from unclip_plugins.editing.outpaint import square_layout
from unclip_plugins.editing.slerp import slerp


def test_slerp_ends_at_its_inputs_and_stays_on_the_sphere():
    g = torch.Generator().manual_seed(0)
    a, b = torch.nn.functional.normalize(torch.randn(2, 16, generator=g), dim=-1)
    path = slerp(a, b, torch.linspace(0, 1, 5))
    assert path.shape == (5, 16)
    torch.testing.assert_close(path[0], a)
    torch.testing.assert_close(path[-1], b)
    torch.testing.assert_close(path.norm(dim=-1), torch.ones(5))
    # Equal angular steps: consecutive frames are equally far apart.
    steps = (path[1:] * path[:-1]).sum(-1)
    torch.testing.assert_close(steps, steps[:1].expand(4))


def test_slerp_of_orthogonal_vectors_is_a_quarter_circle():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    mid = slerp(a, b, torch.tensor([0.5]))[0]
    torch.testing.assert_close(mid, torch.tensor([math.sqrt(0.5), math.sqrt(0.5)]))


def test_slerp_keeps_noise_norm_where_linear_mixing_shrinks_it():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(2, 3, 16, 16, generator=g)
    mid = slerp(a, b, torch.tensor([0.5]))[0]
    assert mid.shape == a.shape
    assert abs(mid.std().item() - 1) < 0.1
    assert (0.5 * a + 0.5 * b).std().item() < 0.8


def test_slerp_of_parallel_vectors_is_linear():
    a = torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(slerp(a, a, torch.tensor([0.0, 0.3, 1.0])), a.expand(3, 3))


def test_masks_binarize_at_half_intensity(tmp_path):
    mask = Image.new("L", (4, 1))
    mask.putdata([0, 127, 128, 255])
    path = tmp_path / "mask.png"
    mask.save(path)
    assert open_mask(path, (4, 1)).flatten().tolist() == [0, 0, 1, 1]
    rgba = Image.new("RGBA", (4, 1), (255, 255, 255, 255))  # any mode is read as gray
    assert open_mask(rgba, (4, 1)).all()


def test_mask_size_rules():
    small = Image.new("L", (8, 4), 255)
    assert open_mask(small, (16, 8)).shape == (1, 1, 8, 16)  # same shape: resized
    with pytest.raises(InputError, match="8x4 but the image is 16x16, a different shape; draw the mask at 16x16"):
        open_mask(small, (16, 16))
    with pytest.raises(InputError, match="all black"):
        check_inpainting_mask(torch.zeros(1, 1, 4, 4))
    with pytest.raises(InputError, match="all white"):
        check_inpainting_mask(torch.ones(1, 1, 4, 4))


def test_coverage_never_shrinks_the_region():
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 3, 3] = 1  # one pixel
    low = coverage(mask, 4)
    assert low.sum() == 1 and low[..., 1, 1] == 1


def test_every_image_mode_becomes_rgb():
    transparent = Image.new("RGBA", (2, 2), (0, 0, 0, 0))
    assert open_image(transparent).getpixel((0, 0)) == (255, 255, 255)  # over white, not black
    for mode in ("L", "P", "CMYK", "1", "I"):
        assert open_image(Image.new(mode, (2, 2))).mode == "RGB"


def test_square_layout_centres_the_canvas():
    # 10x6 image, 2 px left, 4 px right: a 16x6 canvas generated in a 16x16 square.
    side, canvas, image = square_layout(10, 6, (2, 4, 0, 0))
    assert side == 16 and canvas == (0, 5) and image == (2, 5)


def test_outputs_are_written_atomically(tmp_path):
    tiles = [Image.new("RGB", (4, 4), c) for c in ("red", "green", "blue")]
    sheet = grid(tiles, columns=2)
    assert sheet.size == (2 * 4 + 2, 2 * 4 + 2)  # gaps between tiles only
    save_image(sheet, tmp_path / "grid.png")
    save_gif(tiles, tmp_path / "anim.gif")
    assert Image.open(tmp_path / "anim.gif").n_frames == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["anim.gif", "grid.png"]
    with pytest.raises(InputError, match="end the file name in .png"):
        save_image(sheet, tmp_path / "grid.unknown")
    with pytest.raises(InputError, match="does not exist"):
        save_image(sheet, tmp_path / "missing" / "grid.png")
