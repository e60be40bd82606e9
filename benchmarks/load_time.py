"""Cold start of generation: seconds from a fresh interpreter to a loaded bundled model.

Each run is a new Python process (nothing cached in memory but the OS's file cache), timing:
`import torch` alone, building the plugin registry (which imports every installed plugin and
the libraries they use, such as the encoder's), `Pipeline.from_pretrained()`, and one image at
the model's configured steps. The median of
`--runs` runs is reported; the first run warms the file cache and is dropped.

    python benchmarks/load_time.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import torch

from common import print_table, write_json

# Run in a fresh interpreter; prints one JSON line of cumulative timestamps.
PROBE = r"""
import json, sys, time
start = time.perf_counter()
marks = {}
import torch
marks["import torch"] = time.perf_counter() - start
from unclip_core.pipeline import Pipeline
from unclip_core.plugins import get_registry
get_registry()
marks["+ import unclip, build the plugin registry"] = time.perf_counter() - start
pipe = Pipeline.from_pretrained()
marks["+ load the bundled model"] = time.perf_counter() - start
if sys.argv[1] == "1":
    pipe("red heart", seed=0, progress=False)
    marks["+ one image"] = time.perf_counter() - start
marks["lightning imported"] = any(m.split(".")[0] == "lightning" for m in sys.modules)
print(json.dumps(marks))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-image", action="store_true", help="stop after loading")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "load_time_cpu.json")
    args = parser.parse_args()

    from unclip_core.pipeline import resolve_model

    folder = resolve_model(None).folder
    runs = []
    for i in range(args.runs + 1):
        out = subprocess.run(
            [sys.executable, "-c", PROBE, "0" if args.no_image else "1"], capture_output=True, text=True, check=True,
        )
        if i > 0:  # the first run fills the file cache
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    rows = []
    for mark in runs[0]:
        if mark == "lightning imported":
            continue
        values = [r[mark] for r in runs]
        rows.append({"step (cumulative)": mark, "median s": round(statistics.median(values), 2),
                     "min s": round(min(values), 2), "max s": round(max(values), 2)})
    rows.append({"step (cumulative)": "lightning imported", "median s": str(any(r["lightning imported"] for r in runs))})
    print_table(rows)
    write_json(args.out, torch.device("cpu"), {"runs": args.runs, "model": str(folder.name)}, rows)


if __name__ == "__main__":
    main()
