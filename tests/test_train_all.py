"""`unclip train all`: every stage in order into one loadable pipeline; finished stages are skipped."""

import json


from unclip_core.cli import main
from unclip_core.pipeline import Pipeline

FAST = ["trainer.max_steps=2", "trainer.limit_val_batches=0", "trainer.num_sanity_val_steps=0",
        "data.batch_size=4", "data.train_size=16", "data.val_size=4", "data.num_workers=0"]


def test_train_all_trains_every_stage_then_skips_them(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["--debug", "train", "all", "--config", "configs/tiny.yaml", f"run_dir={run}", *FAST]
    assert main(args) == 0
    first = capsys.readouterr().out
    stages = ["encoder", "prior", "decoder", "upsampler_0"]
    assert all(f"[{stage}] training" in first for stage in stages), first
    assert list(json.loads((run / "finished.json").read_text())) == stages
    for stage in stages:
        assert (run / "pipeline" / f"{stage}.safetensors").is_file()

    pipe = Pipeline.from_pretrained(run / "pipeline")
    images = pipe(["a small red circle at the top left"], seed=0, progress=False, decoder_steps=2, upsampler_steps=2)
    assert images[0].size == (64, 64)

    before = (run / "pipeline" / "decoder.safetensors").stat().st_mtime_ns
    assert main(args) == 0
    second = capsys.readouterr().out
    assert all(f"[{stage}] already trained" in second for stage in stages), second
    assert "training" not in second.replace("already trained", "")
    assert (run / "pipeline" / "decoder.safetensors").stat().st_mtime_ns == before


def test_an_unfinished_stage_is_trained_again(tmp_path, capsys):
    """A stage missing from finished.json (e.g. interrupted) runs again; the ones before it do not."""
    run = tmp_path / "run"
    overrides = [f"run_dir={run}", *FAST, "upsamplers=[]", "decoder=null"]
    assert main(["--debug", "train", "all", "--config", "configs/tiny.yaml", *overrides]) == 0
    marker = run / "finished.json"
    finished = json.loads(marker.read_text())
    del finished["prior"]
    marker.write_text(json.dumps(finished))
    capsys.readouterr()
    assert main(["--debug", "train", "all", "--config", "configs/tiny.yaml", *overrides]) == 0
    out = capsys.readouterr().out
    assert "[encoder] already trained" in out and "[prior] training" in out
    assert "prior" in json.loads(marker.read_text())
    assert Pipeline.from_pretrained(run / "pipeline").components.prior is not None


def test_a_finished_stage_asked_for_with_other_settings_is_refused(tmp_path, capsys):
    """Changing what a finished stage learned is refused by name; changing how it samples is not."""
    run = tmp_path / "run"
    overrides = [f"run_dir={run}", *FAST, "upsamplers=[]", "decoder=null"]
    assert main(["train", "all", "--config", "configs/tiny.yaml", *overrides]) == 0
    before = (run / "finished.json").read_text()
    capsys.readouterr()
    for change, named in [("prior.width=32", "prior.width=64, and this graph asks for prior.width=32"),
                          ("train.prior.lr=0.5", "train.prior.lr=0.001, and this graph asks for train.prior.lr=0.5")]:
        assert main(["train", "all", "--config", "configs/tiny.yaml", *overrides, change]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and named in err and "use a new run_dir" in err, err
    assert (run / "finished.json").read_text() == before
    assert main(["train", "all", "--config", "configs/tiny.yaml", *overrides, "prior.sampler.steps=3", "prior.samples_per_prompt=1"]) == 0
    assert "[prior] already trained" in capsys.readouterr().out
