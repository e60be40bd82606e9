"""benchmarks/inversion_fidelity.py on the bundled model, a few emoji: the table's rows, and the
claim the editing default rests on, that more DDIM steps give an image back more faithfully."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.test_data_emoji import needs_font

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@needs_font
def test_more_ddim_steps_invert_the_bundled_model_more_faithfully(tmp_path):
    out = tmp_path / "inversion.json"
    done = subprocess.run(
        [sys.executable, "inversion_fidelity.py", "--limit", "4", "--steps", "4", "32", "--out", str(out)],
        cwd=BENCHMARKS, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    coarse, fine = result["results"]
    assert (coarse["ddim_steps"], fine["ddim_steps"]) == (4, 32) and result["settings"]["emoji"] == 4
    assert fine["psnr_decoder_size"] > coarse["psnr_decoder_size"] + 5  # docs/editing.md: 16 steps 20.7 dB, 32 steps 26.7
    assert fine["psnr_output"] > coarse["psnr_output"]
    low, high = fine["psnr_decoder_size_95"]
    assert low <= fine["psnr_decoder_size"] <= high
    assert fine["x_T_std"] > coarse["x_T_std"]  # a truer inversion lands nearer a unit Gaussian
