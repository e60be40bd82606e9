"""`unclip train clip` trains a real open_clip model with a real Lightning Trainer."""

import csv

import torch

from unclip_core.cli import main
from unclip_core.graph import build_node, graph_from_dict
from unclip_core.metrics import chance_retrieval, retrieval_accuracy
from unclip_core.pipeline import Pipeline
from unclip_core.plugins import get_registry

from .conftest import ROOT

STEPS = 150


def test_clip_training_learns_to_match_captions(tmp_path):
    run = tmp_path / "run"
    overrides = [
        f"run_dir={run}", f"trainer.max_steps={STEPS}", "trainer.log_every_n_steps=5",
        "trainer.limit_val_batches=0", "data.phrasings=false", "train.clip.checkpoint_every_n_steps=100",
    ]
    assert main(["train", "clip", "--config", str(ROOT / "configs/tiny.yaml"), *overrides]) == 0

    rows = list(csv.DictReader(open(run / "clip/logs/version_0/metrics.csv")))
    losses = [float(r["train/loss"]) for r in rows if r.get("train/loss")]
    assert len(losses) >= 20
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5  # the contrastive loss falls
    assert (run / "clip/checkpoints/last.ckpt").is_file()  # resumable

    # Retrieval on images the model never saw (a different seed renders new items).
    pipeline = Pipeline.from_pretrained(run / "pipeline")
    fresh = graph_from_dict({"encoder": {"type": "open_clip"}, "data": {"type": "shapes", "image_size": 32, "seed": 99, "phrasings": False}})
    items = [build_node(fresh.data, get_registry()).train_set()[i] for i in range(256)]
    captions = [item["caption"] for item in items]
    with torch.no_grad():
        images = pipeline.encode_image(torch.stack([item["image"] for item in items]))
        texts = pipeline.encode_text(captions).embedding
    top5 = retrieval_accuracy(images, texts, captions, k=5)
    chance = chance_retrieval(captions, k=5)
    print(f"image->text top-5 retrieval {top5:.3f} (chance {chance:.3f}) after {STEPS} steps")
    assert top5 > 5 * chance
