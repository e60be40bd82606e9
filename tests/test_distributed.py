"""Data-parallel training on 2 CPU processes (Lightning's DDP over gloo), against 1 process,
and sharded (FSDP) against replicated.

One run trains CLIP, the prior and the decoder of the tiny graph on 2 processes with 16 pairs
each, and is killed during the decoder and started again; another trains the same on 1 process
with 32 pairs. Then the decoder trains again from that CLIP, on 2 processes, with ddp and with
fsdp. All are real `unclip train` commands; Lightning starts the second process.
"""

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from unclip_core.pipeline import Pipeline

from .conftest import ROOT

pytestmark = pytest.mark.skipif(not __import__("torch").distributed.is_available(), reason="this torch build has no torch.distributed")

# 40 decoder steps, a checkpoint every 10: the kill lands after the first checkpoint.
SETTINGS = [
    "trainer.accelerator=cpu", "trainer.log_every_n_steps=1", "trainer.limit_val_batches=0", "trainer.num_sanity_val_steps=0",
    "upsamplers=[]", "data.train_size=512", "data.val_size=8", "train.clip.max_steps=3", "train.prior.max_steps=2",
    "train.decoder.max_steps=40", "train.decoder.checkpoint_every_n_steps=10",
]
TWO_PROCESSES = ["trainer.strategy=ddp", "trainer.devices=2", "data.batch_size=16"]
ONE_PROCESS = ["data.batch_size=32"]


def command(run_dir: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "unclip_core.cli", "train", "all", "--config", "configs/tiny.yaml",
            *SETTINGS, *extra, f"run_dir={run_dir}"]


ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}  # output survives the kill


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("ddp")
    two, one = root / "two", root / "one"

    # Two processes, killed (the whole process group) once the decoder has saved a checkpoint.
    log = root / "killed.log"  # a file, not a pipe: a full pipe nobody reads would stall the run
    with log.open("w") as output:
        killed = subprocess.Popen(command(two, TWO_PROCESSES), cwd=ROOT, env=ENV, start_new_session=True,
                                  stdout=output, stderr=subprocess.STDOUT)
    checkpoint = two / "decoder" / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 600
    while not checkpoint.is_file() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # let the write of the checkpoint end
    ended_early = killed.poll()
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    first_output = log.read_text()
    assert ended_early is None, f"the run ended by itself (status {ended_early}) before it could be killed:\n{first_output[-3000:]}"

    resumed = subprocess.run(command(two, TWO_PROCESSES), cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    alone = subprocess.run(command(one, ONE_PROCESS), cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=900)
    assert alone.returncode == 0, alone.stdout[-3000:] + alone.stderr[-3000:]
    return {"two": two, "one": one, "first_output": first_output, "resumed_output": resumed.stdout}


def losses(run_dir: Path, stage: str) -> dict[int, float]:
    """step -> logged training loss, over every (resumed) run of the stage."""
    out = {}
    for path in sorted((run_dir / stage / "logs").glob("version_*/metrics.csv")):
        with path.open() as handle:
            out.update({int(row["step"]): float(row["train/loss"]) for row in csv.DictReader(handle) if row.get("train/loss")})
    return out


def test_clip_loss_on_two_processes_equals_one_process_at_the_same_global_batch(runs):
    """Each process scores its 16 pairs against all 32 (gathered with gradients): the loss, and
    the steps it takes, are those of one process with all 32 pairs."""
    two, one = losses(runs["two"], "clip"), losses(runs["one"], "clip")
    assert sorted(two) == sorted(one) == [0, 1, 2]
    for step in two:
        assert abs(two[step] - one[step]) < 1e-4, (step, two[step], one[step])


def test_decoder_losses_agree_after_20_steps(runs):
    """The processes draw their own noise, so step losses differ; their level does not."""
    two, one = losses(runs["two"], "decoder"), losses(runs["one"], "decoder")
    assert sorted(two) == sorted(one) == list(range(40))
    late_two, late_one = [two[s] for s in range(20, 40)], [one[s] for s in range(20, 40)]
    mean_two, mean_one = sum(late_two) / 20, sum(late_one) / 20
    assert abs(mean_two - mean_one) < 0.05 * mean_one, (mean_two, mean_one)
    assert mean_two < two[0] and mean_one < one[0]  # and both learned


def test_a_killed_run_on_two_processes_resumes_where_it_stopped(runs):
    two = runs["two"]
    versions = sorted((two / "decoder" / "logs").glob("version_*/metrics.csv"))
    assert len(versions) == 2, versions
    with versions[1].open() as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle) if row.get("train/loss")]
    assert steps[0] >= 10 and steps[-1] == 39, steps  # continued from a checkpoint, to the end
    assert "[encoder] already trained" in runs["resumed_output"] and "[prior] already trained" in runs["resumed_output"]


def test_only_rank_zero_writes_and_speaks(runs):
    """One line per stage and one pipeline folder, however many processes trained it."""
    out = runs["resumed_output"]
    assert out.count("[decoder] training") == 1 and out.count("[decoder] done") == 1, out
    assert out.count("trained all; pipeline saved") == 1, out
    assert runs["first_output"].count("[encoder] done") == 1, runs["first_output"]
    assert not [p for p in runs["two"].rglob("*") if p.name.startswith(".")]  # no staging left behind
    pipeline = Pipeline.from_pretrained(str(runs["two"] / "pipeline"))  # checksums verified
    assert pipeline.components.decoder is not None


# FSDP against DDP: the decoder from the same CLIP, 6 steps on 2 processes with 8 pairs each.
DECODER_ONLY = ["train.decoder.max_steps=6", "train.decoder.checkpoint_every_n_steps=3", "data.batch_size=8", "trainer.devices=2"]


@pytest.fixture(scope="module")
def sharded(runs, tmp_path_factory) -> dict:
    """The same decoder trained replicated (ddp) and sharded (fsdp, with activation checkpointing)."""
    root = tmp_path_factory.mktemp("fsdp")
    out = {}
    for name, strategy in [("ddp", ["trainer.strategy=ddp"]),
                           ("fsdp", ["trainer.strategy=fsdp", "train.decoder.activation_checkpointing=true"])]:
        run_dir = root / name
        (run_dir / "pipeline").mkdir(parents=True)
        shutil.copy(runs["one"] / "pipeline" / "encoder.safetensors", run_dir / "pipeline")
        args = [sys.executable, "-m", "unclip_core.cli", "train", "decoder", "--config", "configs/tiny.yaml",
                *SETTINGS, *DECODER_ONLY, *strategy, f"run_dir={run_dir}"]
        done = subprocess.run(args, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        out[name] = run_dir
    return out


@pytest.mark.slow  # about 70 s: two more 2-process trainings (the default suite keeps to 15 minutes on 2 cores)
def test_fsdp_trains_the_decoder_as_ddp_does_and_exports_whole_weights(sharded):
    """Sharding changes where the weights live, not what is learned: the same losses at every
    step, and the exported weights (gathered whole, loadable) equal DDP's to float precision.
    Activation checkpointing, on in the sharded run, recomputes the same activations."""
    assert losses(sharded["fsdp"], "decoder") == losses(sharded["ddp"], "decoder")
    replicated = load_file(sharded["ddp"] / "pipeline" / "decoder.safetensors")
    gathered = load_file(sharded["fsdp"] / "pipeline" / "decoder.safetensors")
    assert replicated.keys() == gathered.keys()
    for name, value in replicated.items():
        assert gathered[name].shape == value.shape, name
        assert torch.allclose(gathered[name], value, atol=1e-6), name
    trained = Pipeline.from_pretrained(str(sharded["fsdp"] / "pipeline"))
    assert trained.components.decoder is not None
    checkpoint = torch.load(sharded["fsdp"] / "decoder" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    shadow = next(state for key, state in checkpoint["callbacks"].items() if "EMA" in key)["shadow"]
    assert {name: value.shape for name, value in shadow.items()} == {name: value.shape for name, value in replicated.items()}


def test_lightning_fsdp_variants_are_refused_with_one_line(tmp_path, capsys):
    """Lightning's own FSDP strategies need a GPU and would export one shard: named and refused."""
    from unclip_core.cli import main

    assert main(["train", "decoder", "--config", str(ROOT / "configs" / "tiny.yaml"), "trainer.strategy=fsdp_cpu_offload",
                 "trainer.devices=2", f"run_dir={tmp_path / 'run'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "trainer.strategy=fsdp_cpu_offload" in err and "trainer.strategy=fsdp" in err, err
    assert not (tmp_path / "run" / "pipeline").exists()
