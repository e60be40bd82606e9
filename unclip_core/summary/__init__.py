"""`unclip summary`: what training each stage of a graph takes, from the graph alone.

Every stage is built on the meta device (no memory, no weight files), so a graph of billions of
parameters is summarized in seconds on a laptop: parameters, FLOPs of a training step,
and the memory a GPU needs for it under DDP or FSDP, in bf16-mixed or float32.
"""

from .measure import StageCost, measure_stage
from .memory import GpuMemory, memory_per_gpu
from .report import Summary, SummaryOptions, render, resolve_options, summarize, to_json
from .stages import Stage, graph_stages

__all__ = [
    "GpuMemory", "Stage", "StageCost", "Summary", "SummaryOptions", "graph_stages", "measure_stage",
    "memory_per_gpu", "render", "resolve_options", "summarize", "to_json",
]
