"""Finished variants on disk: one record.json each, written atomically, keyed by a fingerprint.

A record counts only if its fingerprint matches the experiment's: changing the prompts, seeds,
metrics or base makes old records stale, and those variants run again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .variants import Variant

RECORD = "record.json"


def fingerprint(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class RecordStore:
    def __init__(self, folder: Path, fingerprint: str) -> None:
        self.folder = folder
        self.fingerprint = fingerprint

    def variant_dir(self, variant: Variant) -> Path:
        return self.folder / variant.slug

    def finished(self, variant: Variant) -> dict[str, Any] | None:
        """The variant's record, if it finished under this same experiment."""
        try:
            record = json.loads((self.variant_dir(variant) / RECORD).read_text())
        except (OSError, ValueError):  # absent, or cut short by a kill: not finished
            return None
        if record.get("fingerprint") != self.fingerprint or record.get("label") != variant.label:
            return None
        return record

    def save(self, variant: Variant, record: dict[str, Any]) -> Path:
        folder = self.variant_dir(variant)
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{RECORD}.", dir=folder)
        with os.fdopen(fd, "w") as handle:
            json.dump({**record, "fingerprint": self.fingerprint, "label": variant.label}, handle, indent=2)
        os.replace(tmp, folder / RECORD)
        return folder / RECORD
