"""`unclip embed` stores the trained encoder's embeddings; `type: embeddings` reads them back."""

from __future__ import annotations

import json
import logging

import pytest
import torch
from safetensors.torch import save_file

from unclip_core.cli import main
from unclip_core.errors import ConfigError
from unclip_core.graph import build_node, load_graph
from unclip_core.testing import DataSourceContract
from unclip_core.plugins import get_registry
from unclip_core.training.data import PairDataModule
from unclip_core.weights import state_tensors
from unclip_plugins.datasets.embeddings_source import EmbeddingsConfig, EmbeddingsSource


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A graph whose run already holds trained encoder weights, embedded with --shard-size 16."""
    root = tmp_path_factory.mktemp("embed")
    graph_file = root / "graph.yaml"
    graph_file.write_text(
        "encoder: {type: open_clip, model: unclip-tiny}\n"
        "data: {type: shapes, image_size: 32, train_size: 40, val_size: 12, batch_size: 16}\n"
        f"run_dir: {root / 'run'}\n"
    )
    graph = load_graph(graph_file)
    encoder = build_node(graph.encoder, get_registry()).eval()
    (root / "run" / "pipeline").mkdir(parents=True)
    save_file(state_tensors(encoder), root / "run" / "pipeline" / "encoder.safetensors")
    out = root / "embeddings"
    assert main(["embed", "--config", str(graph_file), "--out", str(out), "--shard-size", "16"]) == 0
    return graph, encoder, out


class TestEmbeddingsSourceContract(DataSourceContract):
    dataset_type = "embeddings"

    @pytest.fixture(autouse=True)
    def _folder(self, run):
        self.folder = run[2]

    def options(self):
        return {"path": str(self.folder)}


def test_index_describes_shards_and_dimensions(run):
    graph, encoder, out = run
    index = json.loads((out / "index.json").read_text())
    assert (index["embed_dim"], index["context_length"], index["text_width"]) == (64, 32, 64)
    assert [s["count"] for s in index["splits"]["train"]["shards"]] == [16, 16, 8]
    assert index["splits"]["val"]["count"] == 12
    assert index["encoder"]["model"] == "unclip-tiny"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "no staging folder left behind"


def test_items_match_the_trained_encoder(run):
    graph, encoder, out = run
    data = EmbeddingsSource(EmbeddingsConfig(path=str(out)))
    train, val = data.train_set(), data.val_set()
    assert (len(train), len(val)) == (40, 12)
    pairs = build_node(graph.data, get_registry()).train_set()
    rows = [0, 17, 39]
    with torch.no_grad():
        image_z = encoder.encode_image(torch.stack([pairs[i]["image"] for i in rows]))
        text = encoder.embed_texts([pairs[i]["caption"] for i in rows])
    for k, i in enumerate(rows):
        item = train[i]
        assert item["caption"] == pairs[i]["caption"]
        assert torch.allclose(item["image_embedding"], image_z[k], atol=2e-3)
        assert torch.allclose(item["text_embedding"], text.embedding[k], atol=2e-3)
        assert torch.allclose(item["text_tokens"], text.tokens[k], atol=2e-2, rtol=1e-2)
        assert torch.equal(item["text_mask"], text.mask[k])
    assert item["text_tokens"].shape == (32, 64) and item["text_mask"].dtype == torch.bool


def test_batches_collate_for_prior_training(run):
    graph, encoder, out = run
    batch = next(iter(PairDataModule(EmbeddingsSource(EmbeddingsConfig(path=str(out), batch_size=8))).train_dataloader()))
    assert batch["image_embedding"].shape == (8, 64) and batch["text_tokens"].shape == (8, 32, 64)
    assert len(batch["caption"]) == 8


def test_corrupt_shard_is_skipped_with_a_warning(run, tmp_path, caplog):
    graph, encoder, out = run
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in out.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    (copy / "train-00001.safetensors").write_bytes(b"\x00" * 100)
    with caplog.at_level(logging.WARNING, logger="unclip.data"):
        train = EmbeddingsSource(EmbeddingsConfig(path=str(copy))).train_set()
    assert len(train) == 24 and "train-00001.safetensors" in caplog.text
    assert train[16]["caption"] == EmbeddingsSource(EmbeddingsConfig(path=str(out))).train_set()[32]["caption"]


def test_missing_folder_says_how_to_make_it(tmp_path):
    with pytest.raises(ConfigError, match="unclip embed"):
        EmbeddingsSource(EmbeddingsConfig(path=str(tmp_path / "nothing"))).train_set()
