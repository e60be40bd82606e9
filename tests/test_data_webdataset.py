"""`unclip data export` writes tar shards; `type: webdataset` streams them back, sample for sample."""

from __future__ import annotations

import io
import logging
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from unclip_core.cli import main
from unclip_core.errors import ConfigError
from unclip_core.shards import png_bytes
from unclip_core.testing import DataSourceContract
from unclip_core.training.data import PairDataModule
from unclip_plugins.datasets.shapes import ShapesConfig, ShapesSource
from unclip_plugins.datasets.webdataset_source import WebDatasetConfig, WebDatasetSource, buffered_shuffle

SHAPES = ["data.train_size=40", "data.val_size=10", "data.image_size=32"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("shards")
    assert main(["data", "export", "--data", "shapes", "--out", str(out), "--shard-size", "7", *SHAPES]) == 0
    return out


class TestWebDatasetSourceContract(DataSourceContract):
    dataset_type = "webdataset"
    dataset_options = {"image_size": 32, "shuffle_buffer": 8}

    @pytest.fixture(autouse=True)
    def _shards(self, exported):
        self.shards = exported

    def options(self):
        return {**self.dataset_options, "urls": str(self.shards / "train" / "shard-{000000..000005}.tar"),
                "val_urls": str(self.shards / "val" / "shard-{000000..000001}.tar")}


def original(split: str):
    source = ShapesSource(ShapesConfig(train_size=40, val_size=10, image_size=32))
    return source.train_set() if split == "train" else source.val_set()


def stream(out, **settings):
    config = WebDatasetConfig(
        urls=str(out / "train" / "shard-{000000..000005}.tar"), val_urls=str(out / "val" / "shard-{000000..000001}.tar"), image_size=32, **settings
    )
    return WebDatasetSource(config)


def fingerprint(item) -> tuple[str, bytes]:
    return item["caption"], ((item["image"] + 1) * 127.5).round().to(torch.uint8).numpy().tobytes()


def test_export_writes_shards_and_an_index(exported):
    assert sorted(p.name for p in (exported / "train").iterdir()) == [f"shard-00000{i}.tar" for i in range(6)] + ["shards.json"]
    names = tarfile.open(exported / "train" / "shard-000000.tar").getnames()
    assert names[:2] == ["train-00000000.png", "train-00000000.txt"] and len(names) == 14


def test_round_trip_every_sample(exported):
    train = stream(exported, shuffle_buffer=16).train_set()
    assert sorted(map(fingerprint, train)) == sorted(map(fingerprint, original("train")))
    val = list(stream(exported).val_set())
    assert [fingerprint(i) for i in val] == [fingerprint(original("val")[i]) for i in range(10)]
    assert val[0]["key"] == "val-00000000"


def test_shuffle_is_seeded_and_changes_per_epoch(exported):
    first, again = stream(exported, seed=3).train_set(), stream(exported, seed=3).train_set()
    epoch0 = [i["key"] for i in first]
    assert epoch0 == [i["key"] for i in again]
    assert epoch0 != sorted(epoch0)
    assert [i["key"] for i in first] != epoch0  # next epoch, new order
    assert [i["key"] for i in stream(exported, seed=4).train_set()] != epoch0


def test_workers_share_the_shards_without_duplicates(exported):
    loader = DataLoader(stream(exported).train_set(), batch_size=5, num_workers=2)
    keys = [key for batch in loader for key in batch["key"]]
    assert sorted(keys) == [f"train-{i:08d}" for i in range(40)]


def test_data_module_batches_a_stream(exported):
    source = stream(exported, batch_size=8)
    batch = next(iter(PairDataModule(source).train_dataloader()))
    assert batch["image"].shape == (8, 3, 32, 32) and len(batch["caption"]) == 8


def test_images_are_resized_to_image_size(exported):
    item = next(iter(stream(exported).val_set().__class__([str(exported / "val" / "shard-000000.tar")], 16, 0, 0, False)))
    assert item["image"].shape == (3, 16, 16)


def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_broken_samples_and_shards_are_skipped_with_warnings(tmp_path, caplog):
    good = original("val")[0]
    gray = io.BytesIO()
    Image.new("L", (32, 32), 128).save(gray, format="PNG")
    with tarfile.open(tmp_path / "a.tar", "w") as tar:
        add(tar, "s1.png", png_bytes(good["image"]))
        add(tar, "s1.txt", good["caption"].encode())
        add(tar, "s2.png", b"\x89PNG broken")
        add(tar, "s2.txt", b"broken image")
        add(tar, "s3.png", gray.getvalue())
        add(tar, "s3.txt", b"gray image")
        add(tar, "s4.txt", b"no image at all")
    whole = (tmp_path / "a.tar").read_bytes()
    (tmp_path / "b.tar").write_bytes(whole[: len(whole) // 3])  # a shard cut off mid-file
    (tmp_path / "c.tar").write_bytes(b"not a tar file" * 100)
    shards = [str(tmp_path / name) for name in ("b.tar", "c.tar", "a.tar")]
    source = WebDatasetSource(WebDatasetConfig(urls=[], val_urls=shards, image_size=32))
    with caplog.at_level(logging.WARNING, logger="unclip.data"):
        items = list(source.val_set())
    captions = [i["caption"] for i in items]
    assert captions.count(good["caption"]) == 2 and captions.count("gray image") == 1 and len(items) == 3
    assert fingerprint(items[-2]) == fingerprint(good)
    assert items[-1]["image"].shape == (3, 32, 32) and torch.allclose(items[-1]["image"], torch.full((3, 32, 32), 128 / 127.5 - 1), atol=1e-6)
    assert "s2" in caplog.text and "s4" in caplog.text and "unreadable shard" in caplog.text


def test_missing_shards_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"shard-000000.tar not found \(4 of 4 missing\)"):
        WebDatasetSource(WebDatasetConfig(urls=str(tmp_path / "shard-{000000..000003}.tar"))).train_set()


def test_buffered_shuffle_keeps_every_item():
    import random

    out = list(buffered_shuffle(range(100), 10, random.Random(0)))
    assert sorted(out) == list(range(100)) and out != list(range(100))


def test_export_with_embeddings_stores_the_encoders_vectors(tmp_path):
    out = tmp_path / "shards"
    graph = tmp_path / "graph.yaml"
    graph.write_text(f"encoder: {{type: open_clip, model: unclip-tiny}}\ndata: {{type: shapes, image_size: 32, train_size: 6, val_size: 3}}\nrun_dir: {tmp_path / 'run'}\n")
    # The run has no trained encoder: refused unless asked for, then embedded with its random weights.
    assert main(["data", "export", "--config", str(graph), "--out", str(out), "--split", "val", "--embeddings"]) == 2
    assert not out.exists()
    assert main(["data", "export", "--config", str(graph), "--out", str(out), "--split", "val", "--embeddings",
                 "--allow-untrained-encoder"]) == 0
    assert not (out / "train").exists()
    items = list(WebDatasetSource(WebDatasetConfig(urls=[], val_urls=str(out / "val" / "shard-000000.tar"), image_size=32)).val_set())
    assert len(items) == 3
    for item in items:
        assert item["image_embedding"].shape == (64,) and item["text_embedding"].dtype == torch.float32
        assert np.isclose(item["image_embedding"].norm().item(), 1, atol=1e-2)


# ---- several processes x several workers (gloo, on the CPU) --------------------------------

def read_as_rank(rank: int, world: int, port: int, jobs: dict, out: str) -> None:
    """One process of a 2-process group: for each job (urls, settings), two epochs of batches
    through 2 DataLoader workers."""
    import json
    import os

    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        for name, (urls, settings) in jobs.items():
            source = WebDatasetSource(WebDatasetConfig(urls=urls, image_size=32, batch_size=4, num_workers=2, **settings))
            loader = PairDataModule(source).train_dataloader()
            epochs = [[list(batch["key"]) for batch in loader] for _ in range(2)]
            (Path(out) / f"{name}-rank{rank}.json").write_text(json.dumps(epochs))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def read_on_two_processes(tmp_path_factory, exported) -> dict:
    """job -> rank -> epoch -> batch -> keys, for 40 samples in 3 shards, in 8, and resampled;
    a process still running after three minutes is a hang."""
    import json
    import socket

    import torch.multiprocessing as mp

    root = tmp_path_factory.mktemp("ranks")
    jobs = {"resampled": (str(exported / "train" / "shard-{000000..000005}.tar"), {"resampled": True, "epoch_samples": 48})}
    for shard_size, shards in [(14, 3), (5, 8)]:
        out = root / f"shards{shards}"
        assert main(["data", "export", "--data", "shapes", "--out", str(out), "--shard-size", str(shard_size), "--split", "train", *SHAPES]) == 0
        jobs[f"{shards} shards"] = (str(out / "train" / f"shard-{{000000..{shards - 1:06d}}}.tar"), {"shuffle_buffer": 8})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    context = mp.start_processes(read_as_rank, args=(2, port, jobs, str(root)), nprocs=2, join=False, start_method="spawn")
    deadline = time.monotonic() + 180
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("reading on 2 processes x 2 workers did not finish in 3 minutes (a hang)")
    return {name: [json.loads((root / f"{name}-rank{rank}.json").read_text()) for rank in range(2)] for name in jobs}


@pytest.mark.parametrize("shards", [3, 8])
def test_two_processes_by_two_workers_read_every_sample_once_per_epoch(read_on_two_processes, shards):
    """Fewer shards (3) than the 4 readers, or more (8): each epoch covers the 40 samples once,
    and both processes take the same number of steps (else DDP would wait forever)."""
    ranks = read_on_two_processes[f"{shards} shards"]
    for epoch in range(2):
        assert len(ranks[0][epoch]) == len(ranks[1][epoch]), "the processes took different numbers of steps"
        keys = [key for rank in ranks for batch in rank[epoch] for key in batch]
        assert sorted(keys) == [f"train-{i:08d}" for i in range(40)]
    assert ranks[0][0] != ranks[0][1]  # a new order each epoch


def test_resampled_shards_give_every_process_the_same_steps(read_on_two_processes):
    ranks = read_on_two_processes["resampled"]
    for epoch in range(2):
        assert [sum(map(len, rank[epoch])) for rank in ranks] == [24, 24]
        assert len(ranks[0][epoch]) == len(ranks[1][epoch])
