"""benchmarks/emoji_decoder_recipes.py at a tiny budget on the CPU: two real decoder runs, measured
at each step count, resumed rather than trained again, and compared prompt by prompt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_data_emoji import needs_font

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run(tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "emoji_decoder_recipes.py", "--runs", str(tmp_path / "runs"), "--steps", "2,4", "--limit", "24",
         "--batch", "4", "--set", "decoder.channels=16", "--out", str(tmp_path / "result.json"), "--plot", str(tmp_path / "curve.png")],
        cwd=BENCHMARKS, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
@needs_font
def test_both_runs_are_measured_at_every_step_count_and_compared(tmp_path):
    first = run(tmp_path)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert list(result["settings"]["variants"]) == ["plain", "min_snr_5"]
    for name, points in result["curve"].items():
        assert [p["steps"] for p in points] == [2, 4] and [p["images"] for p in points] == [8, 16]
        assert all(0 <= p["i2i_top1"] <= p["i2i_top5"] <= 1 for p in points)
        # each run's own exported decoder: 16 channels, and only the weighted run sets gamma
        graph = (tmp_path / "runs" / name / "pipeline" / "pipeline.yaml").read_text()
        assert "channels: 16" in graph and ("min_snr_gamma: 5.0" in graph) == (name != "plain")
    assert {line["rate"] for line in result["final_paired"]} >= {"i2i_top1", "i2i_top5"}
    by_tones = result["final_by_kind"]["skin tones"]  # the last step's rates per kind of emoji, for every run
    assert sum(next(iter(rates.values()))["prompts"] for rates in by_tones.values()) == result["settings"]["prompts"]
    assert all(set(rates) == {"plain", "min_snr_5"} for rates in by_tones.values())
    assert (tmp_path / "curve.png").stat().st_size > 0
    logs = {name: (tmp_path / "runs" / name / "train.log").stat().st_size for name in result["curve"]}

    again = run(tmp_path)  # every step count measured already: read, nothing trained
    assert again.returncode == 0, again.stderr[-3000:]
    assert {name: (tmp_path / "runs" / name / "train.log").stat().st_size for name in result["curve"]} == logs


@pytest.mark.parametrize("variants, problem", [
    ([["--variant", "only"]], "two or more --variant"),
    ([["--variant", "a"], ["--variant", "a", "decoder.min_snr_gamma=5"]], "each with its own name"),
    ([["--variant", "a"], ["--variant", "b", "decoder.min_snr_gamma"]], "overrides are KEY=VALUE"),
])
def test_variants_are_checked_before_anything_trains(tmp_path, variants, problem):
    arguments = [word for variant in variants for word in variant]
    result = subprocess.run([sys.executable, "emoji_decoder_recipes.py", "--runs", str(tmp_path / "runs"), *arguments,
                             "--out", str(tmp_path / "result.json")], cwd=BENCHMARKS, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and problem in result.stderr
    assert not (tmp_path / "runs").exists()
