"""Where a model's files lie: its own folder, then the folders of the models it is based on.

A registered model may name a `base` in registry.yaml and ship only the files that differ from
it (say a prior and its pipeline.yaml); every other file is the base's. Bundled weights stay
small that way: a second prior costs its own megabytes, not another copy of the decoder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .weights import CHECKSUM_FILE, GRAPH_FILE, verify_folder


@dataclass(frozen=True)
class ModelFiles:
    # (folder, sha256 of its files as registry.yaml gives them), the model's own folder first.
    layers: tuple[tuple[Path, dict[str, str]], ...]

    @classmethod
    def of_folder(cls, folder: str | Path) -> ModelFiles:
        return cls(((Path(folder), {}),))

    @property
    def folder(self) -> Path:
        """The model's own folder (the one its name points at)."""
        return self.layers[0][0]

    @property
    def graph_file(self) -> Path:
        return self.path(GRAPH_FILE)

    def path(self, name: str) -> Path:
        """The file as the model sees it: from the first layer that has it (else in the own
        folder, where it is missing)."""
        for folder, _ in self.layers:
            if (folder / name).is_file():
                return folder / name
        return self.folder / name

    def checksums(self) -> dict[str, str]:
        """The sha256 of each file the model uses, as its folders' checksums.json record them."""
        sums: dict[str, str] = {}
        for folder, _ in reversed(self.layers):
            if (folder / CHECKSUM_FILE).is_file():
                sums.update(json.loads((folder / CHECKSUM_FILE).read_text()))
        return sums

    def verify(self) -> dict[str, str]:
        """Check every layer's files against its checksums.json and registry.yaml's sums; returns
        the sha256 of each file the model uses."""
        for folder, expected in self.layers:
            verify_folder(folder, expected)
        return self.checksums()
