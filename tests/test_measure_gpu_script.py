"""scripts/measure_gpu.sh on the CPU with the tiny graph: every part it runs writes its rows,
and a wrong setting is refused before anything runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "measure_gpu.sh"


def measure(out: Path, *overrides: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "UNCLIP": f"{sys.executable} -m unclip_core.cli", "PYTHON": sys.executable,
                   "CONFIG": "configs/tiny.yaml", "DEVICE": "cpu", **env}
    return subprocess.run(["bash", str(SCRIPT), str(out), *overrides], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("overrides, env, message", [
    ((), {"PARTS": "eager speed"}, "PARTS: 'speed' is not a part (eager, compiled, strategies, summary, jpeg, attention, layout)"),
    ((), {"LIMIT_FACTOR": "0"}, "LIMIT_FACTOR must be a whole number of at least 1, got '0'"),
    ((), {"PROFILE": "five"}, "PROFILE must be a number of steps (0 for none), got 'five'"),
    (("decoder.chanels=16",), {}, "error: unknown key 'decoder.chanels' (did you mean 'channels'?)"),
])
def test_a_wrong_setting_is_refused_before_anything_runs(tmp_path, overrides, env, message):
    result = measure(tmp_path / "out", *overrides, **env)
    assert result.returncode == 2 and result.stderr.strip() == message
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_uncompiled_parts_measure_every_stage_and_both_strategies_next_to_the_summary(tmp_path):
    out = tmp_path / "out"
    result = measure(out, "decoder.channels=16", PARTS="summary strategies eager", BATCH="4", STEPS="2", WARMUP="1",
                     PROFILE="2", LIMIT_FACTOR="3")
    assert result.returncode == 0, result.stdout + "".join(p.read_text()[-2000:] for p in out.glob("*.log"))
    lines = result.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == ["summary_ddp", "summary_fsdp", "strategies", "eager"]  # PARTS' order
    assert lines[-1] == "0 of 4 parts did not finish"
    assert not (out / "compiled.json").exists()  # not in PARTS

    rows = json.loads((out / "eager.json").read_text())["results"]
    assert [(r["stage"], r["path"], r["batch"]) for r in rows] == [(s, "device", 4) for s in ("clip", "prior", "decoder", "upsampler")]
    assert all(r["images_per_s"] > 0 and r["mfu_percent"] > 0 for r in rows)
    # every row profiled after its timed steps: the time a step by kind of operation
    assert all(r["profile"]["steps"] == 2 and r["profile"]["busy_ms_per_step"] > 0 for r in rows)
    decoder_kinds = next(r for r in rows if r["stage"] == "decoder")["profile"]["by_kind"]
    assert {"matmul/conv", "norm", "optimizer/EMA"} <= set(decoder_kinds)
    strategies = json.loads((out / "strategies.json").read_text())["results"]
    assert [(r["stage"], r["strategy"], r["batch"]) for r in strategies] == [("decoder", "ddp", 128), ("decoder", "fsdp", 128)]
    for strategy in ("ddp", "fsdp"):
        summary = json.loads((out / f"summary_{strategy}.json").read_text())
        assert summary["strategy"] == strategy and summary["devices"] == 1
        [decoder] = [s for s in summary["stages"] if s["stage"] == "decoder"]
        assert decoder["batch_per_gpu"] == 128 and decoder["bytes_per_gpu"]["total"] > 0
        # the same 16-channel decoder as the rows measured (the overrides reach every part)
        assert decoder["gflop_per_image"] == pytest.approx(strategies[0]["gflop_per_image"], rel=0.05)
