"""Where a training step's time goes: a few steps under torch.profiler, by kind of kernel.

`train_throughput.py --profile N` profiles N steps after its timed window (so the profiler's own
cost never reaches the images/s it reports) and keeps, per row:
- `device_busy_percent`: the kernels' summed time against the steps' wall time. Well below 100 on
  a GPU, the device waits for the host (launches, Python) whatever its kernels do; near 100, the
  kernels themselves are what to make faster or fewer.
- the busy time by kind of kernel (matmul and convolution, attention, normalization, casts and
  copies, other elementwise work, the optimizer), and the kernels that take most of it.
On a GPU the profiled time is each CUDA kernel's; on a CPU, each ATen operation's own time on the
main thread (its children's left out, so nothing counts twice).
"""

from __future__ import annotations

import time
from collections import defaultdict

import lightning as L
import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

# Kind of a kernel or operation, by the first of these whose words its lower-cased name holds.
# Order matters: a cuDNN layout transpose is a copy, not a convolution; a norm's moments kernel
# is the norm's.
KINDS = (
    ("attention/softmax", ("flash", "fmha", "attention", "sdpa", "softmax")),
    ("optimizer/EMA", ("adam", "multi_tensor", "foreach", "lerp")),
    ("norm", ("norm", "rowwisemoments", "computefusedparams", "gammabeta", "computeinternalgradients",
              "compute1dbackward")),
    ("copy/cast", ("copy", "cast", "memcpy", "memset", "fill", "contiguous", "aten::cat", "index",
                   "nchwtonhwc", "nhwctonchw", "transpose")),
    ("matmul/conv", ("gemm", "conv", "cudnn", "cutlass", "xmma", "sm80_", "sm90_", "matmul", "winograd", "aten::mm",
                     "aten::addmm", "aten::bmm", "aten::baddbmm", "mkldnn", "dgrad", "wgrad", "fprop")),
)
OTHER = "elementwise/other"
TOP = 15  # kernels kept a row


def kind_of(name: str) -> str:
    lowered = name.lower()
    for kind, words in KINDS:
        if any(word in lowered for word in words):
            return kind
    return OTHER


def self_time_us(event, on_gpu: bool) -> float:
    """The event's own time: a kernel's on a GPU (the operations that launch kernels count none,
    so nothing is counted twice), an operation's own on a CPU."""
    if on_gpu:
        return float(event.self_device_time_total) if event.device_type == DeviceType.CUDA else 0.0
    return float(event.self_cpu_time_total)


def summarize(events, steps: int, wall_seconds: float, on_gpu: bool) -> dict:
    """The profile of `steps` steps that took `wall_seconds`, from `key_averages()` entries."""
    timed = [(e.key, e.count, self_time_us(e, on_gpu)) for e in events]
    timed = [(name, count, us) for name, count, us in timed if us > 0]
    busy = sum(us for _, _, us in timed)
    by_kind: dict[str, float] = defaultdict(float)
    for name, _, us in timed:
        by_kind[kind_of(name)] += us
    per_step = lambda us: round(us / steps / 1e3, 3)  # noqa: E731  microseconds in all -> ms a step
    share = lambda us: round(100 * us / busy, 1) if busy else 0.0  # noqa: E731
    top = sorted(timed, key=lambda item: -item[2])[:TOP]
    return {
        "steps": steps,
        "timed": "CUDA kernels" if on_gpu else "ATen operations (self time, main thread)",
        "wall_ms_per_step": round(1e3 * wall_seconds / steps, 3),
        "busy_ms_per_step": per_step(busy),
        "device_busy_percent": round(100 * busy / 1e6 / wall_seconds, 1) if wall_seconds else 0.0,
        "calls_per_step": round(sum(count for _, count, _ in timed) / steps, 1),
        "by_kind": {kind: {"ms_per_step": per_step(us), "percent": share(us)}
                    for kind, us in sorted(by_kind.items(), key=lambda item: -item[1])},
        "top": [{"name": name[:160], "kind": kind_of(name), "calls_per_step": round(count / steps, 2),
                 "ms_per_step": per_step(us), "percent": share(us)} for name, count, us in top],
    }


class StepProfiler(L.Callback):
    """Profiles the `steps` training steps that follow global step `after`; `result` then holds
    their summary (see `summarize`)."""

    def __init__(self, after: int, steps: int, device: torch.device) -> None:
        self.after, self.steps, self.device = after, steps, device
        self.result: dict | None = None
        self._profiler = None
        self._start = 0.0

    def _drain(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if step == self.after and self._profiler is None:
            self._drain()
            activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.device.type == "cuda" else [])
            self._profiler = profile(activities=activities)
            self._profiler.start()
            self._start = time.perf_counter()
        elif step == self.after + self.steps and self._profiler is not None:
            self._drain()
            wall = time.perf_counter() - self._start
            self._profiler.stop()
            self.result = summarize(self._profiler.key_averages(), self.steps, wall, self.device.type == "cuda")
            self._profiler = None
