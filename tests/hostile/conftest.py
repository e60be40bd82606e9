"""Prepared inputs for the hostile corpus: images, masks, graphs and plain files in one folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

GRAPH = """\
encoder: {{type: open_clip, model: unclip-tiny}}
prior: {{type: diffusion_prior, width: 64, depth: 2, heads: 2, timesteps: 100, sampler: {{type: ddim, steps: 10}}}}
decoder: {{type: unet_decoder, image_size: 32, channels: 32, channel_mults: [1, 2], num_res_blocks: 1,
          attention_resolutions: [16], sampler: {{type: ddim, steps: 25}}}}
upsamplers:
  - {{type: unet_upsampler, from_size: 32, to_size: 64, channels: 32, channel_mults: [1, 2], num_res_blocks: 1,
     sampler: {{type: ddim, steps: 10}}}}
data: {{type: shapes, image_size: 32, train_size: 8, val_size: 4, batch_size: 4}}
run_dir: {run}
"""


def prepare_inputs(folder: Path, run_dir: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 32), (200, 40, 40)).save(folder / "image.png")
    Image.new("L", (32, 32), 100).save(folder / "grey.png")
    Image.new("L", (32, 32), 0).save(folder / "black.png")
    Image.new("L", (64, 32), 255).save(folder / "wide.png")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n but then nothing of an image")
    (folder / "notes.txt").write_text("not an image\n")
    (folder / "graph.yaml").write_text(GRAPH.format(run=run_dir))
    (folder / "nodata.yaml").write_text("encoder: {type: open_clip, model: unclip-tiny}\n")
    (folder / "broken.yaml").write_text("encoder: {type: open_clip\n  model: [\n")
    (folder / "list.yaml").write_text("- encoder\n- prior\n")


@pytest.fixture
def hostile_dirs(tmp_path: Path) -> dict[str, Path]:
    """{tmp}, {in} (prepared inputs) and {out} (empty) for one case."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    prepare_inputs(inputs, tmp_path / "run")
    out.mkdir()
    return {"tmp": tmp_path, "in": inputs, "out": out}
