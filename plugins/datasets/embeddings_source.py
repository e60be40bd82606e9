"""`type: embeddings`: precomputed CLIP embeddings (from `unclip embed`), for training a prior
without images. Items: image_embedding (D,), text_embedding (D,), text_tokens (L, W) float32,
text_mask (L,) bool and caption; the format is unclip_core/embeddings.py (docs/data.md)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, ClassVar

import torch
from pydantic import Field
from safetensors import safe_open
from torch.utils.data import Dataset

from unclip_core.embeddings import EMBEDDINGS_FORMAT, INDEX_FILE, TENSOR_KEYS
from unclip_core.errors import ConfigError
from unclip_core.interfaces import DataConfig, DataSource

log = logging.getLogger("unclip.data")


class EmbeddingsConfig(DataConfig):
    path: str = Field(description="Folder written by `unclip embed` (holds index.json).")


def read_index(folder: Path) -> dict[str, Any]:
    path = folder / INDEX_FILE
    if not path.is_file():
        raise ConfigError(f"data.path: {path} not found; write the folder with `unclip embed --config FILE --out {folder}`")
    try:
        index = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"data.path: {path} is corrupt ({exc}); run `unclip embed` again") from exc
    if index.get("format") != EMBEDDINGS_FORMAT:
        raise ConfigError(f"data.path: {path} has format {index.get('format')!r}, expected {EMBEDDINGS_FORMAT!r}")
    return index


def shard_is_sound(folder: Path, shard: dict[str, Any], index: dict[str, Any]) -> bool:
    """Check a shard's tensors and captions against index.json before training starts."""
    n, dim = shard["count"], index["embed_dim"]
    expected = {
        "image_embedding": (n, dim),
        "text_embedding": (n, dim),
        "text_tokens": (n, index["context_length"], index["text_width"]),
        "text_mask": (n, index["context_length"]),
    }
    try:
        with safe_open(str(folder / shard["file"]), framework="pt") as handle:
            shapes = {key: tuple(handle.get_slice(key).get_shape()) for key in TENSOR_KEYS}
        captions = json.loads((folder / shard["captions"]).read_text())
    except Exception as exc:  # any unreadable shard is skipped, not fatal
        log.warning("skipping embedding shard %s: unreadable (%s)", folder / shard["file"], exc)
        return False
    if shapes != expected or len(captions) != n:
        log.warning("skipping embedding shard %s: shapes %s and %d captions do not match index.json %s", folder / shard["file"], shapes, len(captions), expected)
        return False
    return True


class EmbeddingDataset(Dataset):
    """Rows of every sound shard of one split; a shard's tensors load on first use."""

    def __init__(self, folder: Path, shards: list[dict[str, Any]]) -> None:
        self.folder = folder
        self.shards = shards
        self.starts = [0]
        for shard in shards:
            self.starts.append(self.starts[-1] + shard["count"])
        self._loaded: dict[int, tuple[dict[str, torch.Tensor], list[str]]] = {}

    def __len__(self) -> int:
        return self.starts[-1]

    def _shard(self, number: int) -> tuple[dict[str, torch.Tensor], list[str]]:
        if number not in self._loaded:
            from safetensors.torch import load_file

            shard = self.shards[number]
            captions = json.loads((self.folder / shard["captions"]).read_text())
            self._loaded[number] = (load_file(str(self.folder / shard["file"])), captions)
        return self._loaded[number]

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} rows")
        number = next(i for i in range(len(self.shards)) if index < self.starts[i + 1])
        tensors, captions = self._shard(number)
        row = index - self.starts[number]
        item: dict[str, Any] = {key: tensors[key][row] for key in TENSOR_KEYS}
        for key in ("image_embedding", "text_embedding", "text_tokens"):
            item[key] = item[key].float()
        item["caption"] = captions[row]
        return item

    def columns(self) -> dict[str, Any]:
        """Every row at once (shards concatenated), for training from device memory."""
        loaded = [self._shard(number) for number in range(len(self.shards))]
        columns: dict[str, Any] = {key: torch.cat([tensors[key] for tensors, _ in loaded]) for key in TENSOR_KEYS}
        columns["caption"] = [caption for _, captions in loaded for caption in captions]
        return columns


class EmbeddingsSource(DataSource):
    """Precomputed image and text embeddings (from `unclip embed`): train a prior without images."""

    name: ClassVar[str] = "embeddings"
    Config: ClassVar[type[EmbeddingsConfig]] = EmbeddingsConfig
    fits_in_memory: ClassVar[bool] = True

    def __init__(self, config: EmbeddingsConfig) -> None:
        super().__init__(config)
        self.config: EmbeddingsConfig = config
        self.folder = Path(config.path).expanduser()

    @property
    def index(self) -> dict[str, Any]:
        return read_index(self.folder)

    def train_set(self) -> EmbeddingDataset:
        return self._split("train")

    def val_set(self) -> EmbeddingDataset:
        return self._split("val")

    def _split(self, name: str) -> EmbeddingDataset:
        index = self.index
        shards = index["splits"].get(name, {"shards": []})["shards"]
        return EmbeddingDataset(self.folder, [s for s in shards if shard_is_sound(self.folder, s, index)])
