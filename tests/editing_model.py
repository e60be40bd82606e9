"""A small trained pipeline for the editing tests: a CLIP and a 16px decoder trained briefly on
the blob set (colored disks named by color), with the caption-as-embedding prior."""

from __future__ import annotations

from pathlib import Path

from unclip_core.graph import build_node, graph_from_dict
from unclip_core.pipeline import Pipeline
from unclip_core.plugins import get_registry
from unclip_core.training.clip import train_clip
from unclip_core.training.data import PairDataModule
from unclip_core.training.decoder import train_decoder

from .blobs import BlobSource

SIZE, COUNT = 16, 32
CLIP_STEPS, DECODER_STEPS = 100, 300
DECODER = {
    "type": "unet_decoder", "image_size": SIZE, "channels": 16, "channel_mults": [1, 2], "num_res_blocks": 1,
    "attention_resolutions": [8], "head_channels": 16, "dropout": 0.0, "guidance_scale": 1.0,
    "prediction": "v", "sampler": {"type": "ddim", "steps": 20},
}
# Untrained: it only has to turn 16px images into 32px ones for the paste-back checks.
UPSAMPLER = {
    "type": "unet_upsampler", "from_size": SIZE, "to_size": 2 * SIZE, "channels": 8, "channel_mults": [1, 2],
    "num_res_blocks": 1, "prediction": "v", "degradation": "none", "sampler": {"type": "ddim", "steps": 4},
}


def train_editing_pipeline(run_dir: Path) -> Path:
    """Train CLIP, then the decoder against it; returns the pipeline folder."""
    graph = graph_from_dict({
        "encoder": {"type": "open_clip", "model": "unclip-tiny"},
        "prior": {"type": "text_as_image"},
        "decoder": DECODER,
        "trainer": {"accelerator": "cpu", "precision": "32-true", "logger": False, "enable_progress_bar": False,
                    "enable_model_summary": False, "limit_val_batches": 0, "gradient_clip_val": 1.0},
        "train": {
            "clip": {"lr": 2e-3, "warmup_steps": 10, "max_steps": CLIP_STEPS},
            "decoder": {"lr": 2e-3, "warmup_steps": 10, "ema_decay": 0.95, "weight_decay": 0.0, "max_steps": DECODER_STEPS},
        },
        "run_dir": str(run_dir),
    })
    train_clip(graph, data=PairDataModule(BlobSource(COUNT, SIZE, batch_size=32)))
    return train_decoder(graph, data=PairDataModule(BlobSource(COUNT, SIZE, batch_size=32)))


def with_upsampler(folder: Path, out: Path) -> Path:
    """The same pipeline with an (untrained) 16->32 upsampler stage, saved as a new folder."""
    pipeline = Pipeline.from_pretrained(folder)
    registry = get_registry()
    graph = graph_from_dict({**pipeline.graph.to_dict(), "upsamplers": [UPSAMPLER]})
    pipeline.components.upsamplers = [build_node(node, registry) for node in graph.upsamplers]
    return Pipeline(graph, pipeline.components).save_pretrained(out)
