"""The training step: resume continues the step count on the device feed; a compiled loss trains
like the eager one."""

import csv
import shutil

import lightning as L
import pytest
import torch

from unclip_core.cli import main
from unclip_core.interfaces import EncoderSpec
from unclip_core.testing import build_component, synthetic_prior_task
from unclip_core.training.config import StageConfig
from unclip_core.training.prior import PriorModule

from .conftest import ROOT

SPEC = EncoderSpec(embed_dim=16, text_width=16, context_length=8, image_size=32)


def logged_steps(folder) -> list[int]:
    rows = csv.DictReader(open(folder / "metrics.csv"))
    return [int(r["step"]) for r in rows if r.get("train/loss")]


def checkpointed_prior_run(run, *extra: str) -> list[str]:
    """`train prior` arguments for a tiny run that logs every step and checkpoints every 2."""
    return [
        "--config", str(ROOT / "configs/tiny.yaml"), f"run_dir={run}", "data.train_size=24", "data.val_size=8",
        "data.batch_size=8", "trainer.limit_val_batches=0", "trainer.log_every_n_steps=1",
        "train.prior.checkpoint_every_n_steps=2", *extra,
    ]


def test_resume_from_last_checkpoint_continues_the_step_count_on_the_device_feed(tmp_path):
    run = tmp_path / "run"
    common = checkpointed_prior_run(run, "train.prior.feed=device")
    assert main(["train", "prior", *common, "trainer.max_steps=4"]) == 0
    assert torch.load(run / "prior/checkpoints/last.ckpt", weights_only=False)["global_step"] == 4
    assert main(["train", "prior", *common, "trainer.max_steps=6"]) == 0
    assert torch.load(run / "prior/checkpoints/last.ckpt", weights_only=False)["global_step"] == 6
    assert logged_steps(run / "prior/logs/version_0") == [0, 1, 2, 3]
    assert logged_steps(run / "prior/logs/version_1") == [4, 5]  # resumed at step 4, not from 0


def test_a_diverging_loss_stops_training_with_one_line_and_exports_nothing(tmp_path, capsys):
    run = tmp_path / "run"
    code = main([
        "train", "prior", "--config", str(ROOT / "configs/tiny.yaml"), f"run_dir={run}", "data.train_size=24",
        "data.val_size=8", "data.batch_size=8", "trainer.limit_val_batches=0", "trainer.log_every_n_steps=2",
        "trainer.max_steps=8", "train.prior.lr=1e30", "train.prior.warmup_steps=0",
    ])
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2
    assert error.startswith("error: the prior loss became NaN or infinite by step ")
    assert "Lower train.prior.lr (now 1e+30)" in error
    assert not (run / "pipeline" / "prior.safetensors").exists()


def compiler_works() -> str | None:
    """Why torch.compile cannot run here, or None when it can."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        return "no C compiler for the CPU backend of torch.compile"
    try:
        torch.compile(lambda x: x * 2)(torch.ones(2))
    except Exception as exc:  # any failure of the toolchain means: skip, naming it
        return f"torch.compile fails on this machine: {type(exc).__name__}: {exc}"
    return None


@pytest.mark.slow
def test_compiled_stage_trains_to_the_eager_loss():
    """Slow (compiling takes about two minutes on 2 CPU cores): pytest -m slow tests/test_training_steps.py"""
    reason = compiler_works()
    if reason:
        pytest.skip(reason)
    import torch._inductor.config as inductor

    z_i, text = synthetic_prior_task(SPEC, 64, seed=0)
    batch = {"image_embedding": z_i, "text_embedding": text.embedding, "text_tokens": text.tokens, "text_mask": text.mask}
    section = {"type": "diffusion_prior", "width": 32, "depth": 1, "heads": 2, "timesteps": 50, "sampler": {"type": "ddim", "steps": 5}}

    def train(compile: bool) -> list[float]:
        torch.manual_seed(0)
        prior = build_component("prior", section, spec=SPEC)
        prior.fit_statistics(z_i, text.embedding)
        module = PriorModule(prior, StageConfig(lr=3e-3, warmup_steps=1, compile=compile))
        optimizer = torch.optim.AdamW(prior.parameters(), lr=3e-3)
        losses = []
        torch.manual_seed(1)
        for _ in range(8):
            loss = module._loss(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses

    eager = train(compile=False)
    with inductor.patch(fallback_random=True):  # the same random draws as eager
        compiled = train(compile=True)
    assert eager[-1] < eager[0]
    assert compiled == pytest.approx(eager, rel=1e-3, abs=1e-4)


def test_a_truncated_last_checkpoint_resumes_from_the_newest_readable_one(tmp_path, capsys, caplog):
    run = tmp_path / "run"
    common = checkpointed_prior_run(run, "train.prior.checkpoint_every_minutes=null")
    assert main(["train", "prior", *common, "trainer.max_steps=4"]) == 0
    folder = run / "prior" / "checkpoints"
    last = folder / "last.ckpt"
    [kept] = [p for p in folder.glob("*.ckpt") if p != last]  # the step-4 checkpoint, next to last.ckpt
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])  # a copy cut short
    capsys.readouterr()
    assert main(["train", "prior", *common, "trainer.max_steps=6"]) == 0
    said = caplog.text
    assert f"checkpoint {last} cannot be read" in said and f"resuming from {kept.name}" in said, said
    assert logged_steps(run / "prior/logs/version_1") == [4, 5]  # went on from step 4
    capsys.readouterr()

    for path in folder.glob("*.ckpt"):
        path.write_bytes(b"not a checkpoint")
    assert main(["train", "prior", *common, "trainer.max_steps=8"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and f"no checkpoint in {folder} can be read" in error and f"delete {folder}" in error


class SavedSteps(L.Callback):
    """Records the step of every checkpoint the trainer writes."""

    def __init__(self):
        self.steps = []

    def on_save_checkpoint(self, trainer, pl_module, checkpoint):
        self.steps.append(trainer.global_step)


@pytest.mark.parametrize("minutes, saved", [(1e-6, [3, 6, 7]), (None, [7])])
def test_last_checkpoint_is_rewritten_by_time_between_step_checkpoints(tmp_path, minutes, saved):
    """With a time interval, last.ckpt is rewritten on logging steps (3, 6) between step checkpoints
    (every 1,000 here); the end of training saves it either way."""
    from torch.utils.data import DataLoader

    from unclip_core.graph import load_graph
    from unclip_core.training.trainer import make_trainer

    graph = load_graph(str(ROOT / "configs/tiny.yaml"), [
        f"run_dir={tmp_path}", "trainer.max_steps=7", "trainer.log_every_n_steps=3", "trainer.limit_val_batches=0",
        "train.prior.checkpoint_every_n_steps=1000", f"train.prior.checkpoint_every_minutes={'null' if minutes is None else minutes}",
    ])
    prior = build_component("prior", {"type": "diffusion_prior", "width": 32, "depth": 1, "heads": 2, "timesteps": 10,
                                      "sampler": {"type": "ddim", "steps": 5}}, spec=SPEC)
    module = PriorModule(prior, StageConfig(ema_decay=None))
    z_i, text = synthetic_prior_task(SPEC, 64, seed=0)
    items = [{"image_embedding": z_i[i], "text_embedding": text.embedding[i], "text_tokens": text.tokens[i],
              "text_mask": text.mask[i], "caption": ""} for i in range(64)]
    spy = SavedSteps()
    trainer, _ = make_trainer(graph, "prior", callbacks=[spy])
    module.fit_statistics(DataLoader(items, batch_size=64))
    trainer.fit(module, DataLoader(items, batch_size=8, drop_last=True))
    assert spy.steps == saved
    assert torch.load(tmp_path / "prior/checkpoints/last.ckpt", weights_only=False)["global_step"] == 7
    assert sorted(p.name for p in (tmp_path / "prior/checkpoints").glob("last*.ckpt")) == ["last.ckpt"]
