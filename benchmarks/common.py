"""Timing and reporting shared by the benchmark scripts."""

from __future__ import annotations

import json
import platform
import re
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import torch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], device: torch.device, iters: int, warmup: int) -> float:
    """Seconds per call, after warm-up calls."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    synchronize(device)
    return (time.perf_counter() - start) / iters


def setup_device(name: str) -> tuple[torch.device, Callable]:
    """The device, with TF32 and cuDNN autotuning on CUDA; returns an autocast factory (bf16 on CUDA)."""
    device = torch.device(name)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
        return device, lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return device, nullcontext


def params_m(module: torch.nn.Module) -> float:
    return round(sum(p.numel() for p in module.parameters()) / 1e6, 2)


def print_table(rows: list[dict]) -> None:
    header = list(rows[0])
    widths = [max(len(h), *(len(str(r.get(h, ""))) for r in rows)) for h in header]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(r.get(h, "")).ljust(w) for h, w in zip(header, widths)))


def write_json(path: Path, device: torch.device, settings: dict, rows: list[dict]) -> None:
    """Write results with the machine they were measured on, atomically."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    meta = {"device": name, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "precision": "bf16 autocast" if device.type == "cuda" else "fp32", **settings}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps({"settings": meta, "results": rows}, indent=2) + "\n")
    partial.replace(path)
    print(f"wrote {path}")


def to_json(data: object) -> str:
    """Indented JSON with every list of plain numbers on one line (per-prompt ranks stay readable)."""
    text = json.dumps(data, indent=2)
    return re.sub(r"\[\s*([-+\d.eE,\s]+?)\s*\]", lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text) + "\n"
