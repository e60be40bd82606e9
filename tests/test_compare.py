"""`unclip compare` end to end on a tiny pipeline trained here: rows, skipping, resuming, retraining."""

import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

from unclip_core.cli import main
from unclip_core.experiments.runner import Comparison
from unclip_core.experiments import expand_variants
from unclip_core.experiments.spec import load_experiment, validate_experiment
from unclip_core.weights import sha256_of

from .conftest import ROOT

# A pipeline trained for two steps per stage: poor images, but every stage real and fast.
FAST = ["trainer.max_steps=2", "trainer.limit_val_batches=0", "trainer.num_sanity_val_steps=0",
        "data.batch_size=4", "data.train_size=16", "data.val_size=8", "data.num_workers=0", "upsamplers=[]"]
ALL_METRICS = ["clip_score", "fid", {"type": "kid", "subsets": 5}, "retrieval", "prior_cosine", "oracle"]


# From a graph: the base trains once, into OUT/base. The AR prior fits its bins on 256
# embeddings, so the base trains on that many items (still two steps).
GRAPH_BASE = {"graph": "configs/tiny.yaml", "overrides": [*FAST, "data.train_size=256"],
              "axes": {"decoder.sampler.steps": [1]}, "prompts": ["a red circle"], "metrics": ["clip_score"]}


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> Path:
    """The output folder of a one-variant experiment whose base is trained from configs/tiny.yaml."""
    out = tmp_path_factory.mktemp("tiny") / "out"
    run(experiment(**GRAPH_BASE), out)
    return out


@pytest.fixture(scope="module")
def tiny_model(tiny_base) -> Path:
    return tiny_base / "base" / "pipeline"


def experiment(**fields):
    return validate_experiment({"seeds": [0], "batch_size": 8, "metrics": ["clip_score"], **fields})


def run(exp, out, messages=None):
    return Comparison(exp, out, progress=False, log=(messages.append if messages is not None else lambda m: None)).run()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_two_samplers_by_two_step_counts_fill_every_metric_then_are_skipped(tiny_model, tmp_path):
    exp = experiment(
        model=str(tiny_model), overrides=["prior.sampler.steps=2"],
        axes={"decoder.sampler.type": ["ddim", "dpmpp_2m"], "decoder.sampler.steps": [2, 3]},
        prompts="shapes:val", max_prompts=4, seeds=[0, 1], metrics=ALL_METRICS,
    )
    out = tmp_path / "out"
    records = run(exp, out)
    assert len(records) == 4 and all(record["trained"] == [] for record in records)
    rows = read_csv(out / "results.csv")
    assert len(rows) == 4
    expected = ["clip_score", "fid", "kid", "retrieval_top1", "retrieval_top5", "prior_cosine_true", "oracle_all",
                "seconds_per_image", "peak_memory_mib"]
    for row in rows:
        for column in expected:
            assert math.isfinite(float(row[column])), (column, row)
        assert row["clip_score_std"] != ""  # two seeds: a spread per metric
        # ... and a 95% interval of the mean: Student's t with 1 degree of freedom, 12.706 standard errors
        assert math.isclose(float(row["clip_score_ci95"]), 12.706 * float(row["clip_score_std"]) / math.sqrt(2), rel_tol=1e-9)
        assert float(row["seconds_per_image"]) > 0 and float(row["peak_memory_mib"]) > 0
    assert {(r["decoder.sampler.type"], r["decoder.sampler.steps"]) for r in rows} == {
        ("ddim", "2"), ("ddim", "3"), ("dpmpp_2m", "2"), ("dpmpp_2m", "3")}
    table = (out / "results.md").read_text()
    assert table.count("\n| ddim") + table.count("\n| dpmpp_2m") == 7 and "**" in table  # 4 results, 3 paired rows
    # Metrics measured image by image keep each prompt's value: intervals over the prompts, and
    # each variant against the first (ddim, 2 steps), prompt by prompt.
    for record in records:
        assert set(record["per_prompt"]) >= {"clip_score", "retrieval_top1", "prior_cosine_true", "oracle_all"}
        assert "fid" not in record["per_prompt"] and all(len(v) == 4 for v in record["per_prompt"].values())
        low, high = record["metrics_prompts_ci95"]["clip_score"]
        assert low <= record["metrics"]["clip_score"] <= high
    for row in rows:
        assert float(row["clip_score_prompts_ci95_low"]) <= float(row["clip_score"]) <= float(row["clip_score_prompts_ci95_high"])
    paired = table.split("## Against decoder.sampler.type=ddim, decoder.sampler.steps=2, prompt by prompt")[1]
    assert paired.count("\n| ") == 4 and "clip_score" in paired and "fid" not in paired  # header and 3 variants
    for name in ("fid_vs_steps.png", "fid_vs_seconds.png", "clip_score_vs_steps.png", "seconds_per_image_vs_steps.png"):
        assert (out / "plots" / name).stat().st_size > 1000, name
    assert len(list(out.glob("variants/*/grid.png"))) == 4

    stamps = {p: p.stat().st_mtime_ns for p in out.glob("variants/*/record.json")}
    messages = []
    again = run(exp, out, messages)
    assert sum("finished earlier; skipping" in m for m in messages) == 4, messages
    assert {p: p.stat().st_mtime_ns for p in out.glob("variants/*/record.json")} == stamps
    assert [r["metrics"] for r in again] == [r["metrics"] for r in records]


def test_diversity_against_fidelity_along_guidance(tiny_model, tmp_path):
    """Several images a prompt: diversity is measured among them, prompt by prompt, and a trade-off
    plot puts one metric against another, a line per family through the guidance scales."""
    exp = experiment(
        model=str(tiny_model), overrides=["prior.sampler.steps=2", "decoder.sampler.steps=2"],
        axes={"prior.type": ["diffusion_prior", "text_as_image"], "decoder.guidance_scale": [1.0, 3.0]},
        prompts=["a red circle", "a small blue square"], images_per_prompt=3, metrics=["clip_score", "diversity"],
        plot_x="decoder.guidance_scale", plot_pairs=[["clip_score", "diversity_clip"]],
    )
    out = tmp_path / "out"
    records = run(exp, out)
    assert len(records) == 4
    for record in records:
        assert record["images"] == 6 and record["directions"]["diversity_clip"] is None
        assert len(record["per_prompt"]["diversity_pixels"]) == 2
        assert record["metrics"]["diversity_pixels"] > 0  # three draws of a prompt are not three copies
    assert (out / "plots" / "diversity_clip_vs_clip_score.png").stat().st_size > 1000
    assert (out / "plots" / "clip_score_vs_guidance_scale.png").is_file()  # named by the x axis, not "steps"
    assert not list((out / "plots").glob("*_vs_steps.png"))


def test_a_killed_run_loses_only_the_variant_in_flight(tiny_model, tmp_path):
    """Kill the command while it runs its second variant; the rerun skips the first and finishes the rest."""
    # The first variant is quick; the later ones take long enough to be caught in flight.
    spec = {"model": str(tiny_model), "overrides": ["prior.sampler.steps=2"], "axes": {"decoder.sampler.steps": [1, 12, 13]}, "prompts": ["a red circle"],
            "seeds": [0], "metrics": ["clip_score"]}
    file = tmp_path / "exp.yaml"
    file.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "unclip_core.cli", "compare", str(file), "--out", str(out), "--no-progress"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 900  # generous: a loaded machine takes minutes to start torch
    while not list(out.glob("variants/*/record.json")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    exited_early = process.poll()
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert exited_early is None, f"the command ended by itself (status {exited_early}) before any variant finished"
    finished = list(out.glob("variants/*/record.json"))
    assert len(finished) == 1, "the kill should land while the second variant runs"
    first = finished[0].read_bytes()

    messages = []
    records = run(validate_experiment(spec), out, messages)
    assert [r["settings"]["decoder.sampler.steps"] for r in records] == [1, 12, 13]
    assert sum("skipping" in m for m in messages) == 1, messages
    assert finished[0].read_bytes() == first
    assert len(read_csv(out / "results.csv")) == 3


def test_a_graph_base_trains_every_stage_once(tiny_base):
    finished = json.loads((tiny_base / "base" / "finished.json").read_text())
    assert list(finished) == ["encoder", "prior", "decoder"]
    messages = []
    run(experiment(**GRAPH_BASE), tiny_base, messages)
    assert all(f"[{stage}] already trained" in " ".join(messages) for stage in finished), messages


def test_a_prior_type_axis_trains_only_the_prior(tiny_model, tmp_path):
    """Each prior type reuses the base's CLIP and decoder; the base's own prior type trains nothing,
    and the AR prior trains once for both its draw counts."""
    out = tmp_path / "out"
    exp = experiment(
        model=str(tiny_model), overrides=["decoder.sampler.steps=2"],
        axes={"prior.type": ["diffusion_prior", "ar_prior"], "prior.samples_per_prompt": [1, 2]},
        variants=[{"prior.type": "text_as_image"}],  # the baseline has no draws to count
        settings_for={"prior.type=ar_prior": ["prior.buckets=16"]},  # a setting only the AR prior accepts
        prompts=["shapes:train", "shapes:val"], max_prompts=2, metrics=["prior_cosine", "clip_score", "oracle"],
    )
    records = {(r["settings"]["prior.type"], r["settings"].get("prior.samples_per_prompt")): r for r in run(exp, out)}
    assert sorted(records, key=str) == sorted([(t, n) for t in ("diffusion_prior", "ar_prior") for n in (1, 2)]
                                              + [("text_as_image", None)], key=str)
    assert records["diffusion_prior", 1]["trained"] == [] == records["diffusion_prior", 2]["trained"]  # the base's own prior
    assert records["ar_prior", 1]["trained"] == ["prior"] == records["ar_prior", 2]["trained"]
    assert records["text_as_image", None]["trained"] == []  # nothing to learn: built from the base, no run
    # Two seen prompts and two held-out ones, each group scored on its own.
    assert records["ar_prior", 2]["images"] == 4
    assert {"oracle_seen_attributes", "oracle_held_out_attributes", "oracle_held_out_shape"} <= set(records["ar_prior", 2]["metrics"])
    rows = read_csv(out / "results.csv")
    assert [r["prior.samples_per_prompt"] for r in rows if r["prior.type"] == "text_as_image"] == [""]
    assert "| text_as_image | — |" in (out / "results.md").read_text()
    base = tiny_model
    runs = {yaml.safe_load((p / "pipeline" / "pipeline.yaml").read_text())["prior"]["type"]: p for p in out.glob("trained/*")}
    assert sorted(runs) == ["ar_prior"]  # one run per prior trained, whatever it samples with
    assert yaml.safe_load((runs["ar_prior"] / "pipeline" / "pipeline.yaml").read_text())["prior"]["buckets"] == 16
    assert len(list(out.glob("trained/*"))) == 1
    for prior_type, run_dir in runs.items():
        for stage in ("encoder", "decoder"):
            copied, original = load_file(run_dir / "pipeline" / f"{stage}.safetensors"), load_file(base / f"{stage}.safetensors")
            assert copied.keys() == original.keys() and all(torch.equal(copied[k], original[k]) for k in copied)
            assert not (run_dir / stage).exists(), f"{prior_type} trained the {stage} again"
        assert "copied_from" in json.loads((run_dir / "finished.json").read_text())["decoder"]
    assert (runs["ar_prior"] / "prior" / "checkpoints" / "last.ckpt").is_file()


def test_new_weights_under_the_same_name_are_measured_and_trained_again(tiny_model, tmp_path):
    """Records and training runs belong to the base's weights, not to its name: a model folder
    updated in place (as a registered model is when it gets a new version) is measured again."""
    model, out = tmp_path / "model", tmp_path / "out"
    shutil.copytree(tiny_model, model)
    exp = experiment(model=str(model), axes={"prior.type": ["ar_prior"]}, prompts=["a red circle"])
    run(exp, out)
    messages = []
    run(exp, out, messages)
    assert sum("finished earlier; skipping" in m for m in messages) == 1, messages
    decoder = load_file(model / "decoder.safetensors")  # the decoder's next version, saved in place
    save_file({name: tensor * 1.01 for name, tensor in decoder.items()}, model / "decoder.safetensors")
    sums = json.loads((model / "checksums.json").read_text())
    (model / "checksums.json").write_text(json.dumps({**sums, "decoder.safetensors": sha256_of(model / "decoder.safetensors")}))
    messages = []
    run(exp, out, messages)
    assert not any("finished earlier" in m for m in messages), messages
    runs = sorted(out.glob("trained/*"))
    assert len(runs) == 2  # the AR prior's run again, with a copy of the new decoder
    copies = [load_file(r / "pipeline" / "decoder.safetensors") for r in runs]
    assert sum(all(torch.equal(c[k], decoder[k] * 1.01) for k in decoder) for c in copies) == 1


def write(tmp_path, spec) -> str:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


GOOD = {"model": "unclip-emoji", "axes": {"decoder.sampler.steps": [2]}, "prompts": ["a cat face"], "metrics": ["clip_score"]}


@pytest.mark.parametrize(
    "change, named",
    [
        ({"seedz": [0]}, "unknown key 'seedz' (did you mean 'seeds'?)"),
        ({"seeds": ["x"]}, "seeds.0"),
        ({"combine": "zipped"}, "combine"),
        ({"axes": {"decoder.sampler.stepz": [2]}}, "decoder.sampler.stepz"),
        ({"metrics": ["fid"]}, "metrics.0: 'fid' compares with true images"),
        ({"metrics": ["clip_score", "diversity"]}, "metrics.1: 'diversity' compares the images of one prompt with each other and needs images_per_prompt: 2"),
        ({"plot_pairs": [["clip_score", "sharpness"]]}, "plot_pairs.0: 'sharpness' is not a column of these metrics (clip_score, "),
        ({"metrics": ["fidd"]}, "unknown metric type 'fidd' (did you mean 'fid'?)"),
        ({"prompts": "nowhere.txt"}, "prompts: 'nowhere.txt' is neither a file nor a data set split"),
        ({"prompts": ["emoji:val", "a cat"]}, "prompts: a list is either prompts or data set splits"),
        ({"variants": [{"prior.type": "text_as_image"}]}, "variants.0: 'prior.type' is not an axis"),
        ({"variants": [{}]}, "variants.0 sets nothing"),
        ({"settings_for": {"prior.type=ar_prior": ["prior.buckets=16"]}}, "settings_for: 'prior.type=ar_prior' should name an axis"),
        ({"settings_for": {"decoder.sampler.steps=3": ["prior.buckets=16"]}}, "decoder.sampler.steps never takes the value '3'"),
        ({"settings_for": {"decoder.sampler.steps=2": ["decoder.eta"]}}, "'decoder.eta' must look like key=value"),
        ({"baseline": {"prior.type": "text_as_image"}}, "baseline: 'prior.type' is not an axis"),
        ({"baseline": {"decoder.sampler.steps": 3}}, "baseline: no variant has decoder.sampler.steps=3"),
    ],
)
def test_a_bad_experiment_file_exits_2_with_one_line_naming_the_key(tmp_path, capsys, change, named):
    assert main(["compare", write(tmp_path, {**GOOD, **change}), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and named in err, err


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "configs" / "experiments").glob("*.yaml")))
def test_every_shipped_experiment_is_ready_to_run(name, tmp_path):
    """Each file's base, prompts, metrics and variant graphs check out against the code as it is,
    and checking writes nothing."""
    from .test_data_emoji import font_available

    exp = load_experiment(ROOT / "configs" / "experiments" / name)
    if "emoji" in str(exp.prompts) and not font_available():
        pytest.skip("emoji font missing: apt-get install fonts-noto-color-emoji")
    ready = Comparison(exp, tmp_path / "out", progress=False).prepare()
    assert len(ready.plans) == len(expand_variants(exp)) and ready.prompts.prompts
    assert not (tmp_path / "out").exists()


def test_check_names_the_experiment_and_stops_before_generating(tmp_path, capsys):
    from .test_data_emoji import font_available

    if not font_available():
        pytest.skip("emoji font missing: apt-get install fonts-noto-color-emoji")
    file = ROOT / "configs" / "experiments" / "prior-ablation-emoji.yaml"
    assert main(["compare", str(file), "--check", "--out", str(tmp_path / "out"), "max_prompts=2", "--no-progress"]) == 0
    said = capsys.readouterr().out
    # The AR prior's two variants would train it (once, shared), and the caption-only baseline
    # records its stateless prior in a run of its own; the diffusion prior's sample the base's stages.
    assert said.startswith(f"{file}: 5 variants (2 train a stage), 2 prompts x 1 images x 3 seeds") and said.strip().endswith(": ready"), said
    assert not (tmp_path / "out").exists()


def test_command_line_overrides_change_the_file_or_every_variant_s_graph():
    from unclip_core.experiments.spec import apply_overrides

    data = apply_overrides(dict(GOOD), ["seeds=[3, 4]", "axes.decoder.sampler.type=[ddim]", "decoder.guidance_scale=2"])
    exp = validate_experiment(data)
    assert exp.seeds == [3, 4] and exp.axes["decoder.sampler.type"] == ["ddim"]
    assert exp.overrides == ["decoder.guidance_scale=2"]


def test_product_and_zip_of_axes():
    axes = {"decoder.sampler.type": ["ddim", "dpmpp_2m"], "decoder.guidance_scale": [1.5, 3.0]}
    product = expand_variants(experiment(model="m", axes=axes, prompts=["p"]))
    zipped = expand_variants(experiment(model="m", axes=axes, prompts=["p"], combine="zip"))
    assert len(product) == 4 and len({v.slug for v in product}) == 4
    assert [v.overrides for v in zipped] == [
        ["decoder.sampler.type=ddim", "decoder.guidance_scale=1.5"], ["decoder.sampler.type=dpmpp_2m", "decoder.guidance_scale=3.0"]]


def test_the_baseline_runs_first_and_must_name_one_variant():
    from unclip_core.errors import ConfigError
    axes = {"prior.type": ["diffusion_prior", "ar_prior"], "prior.guidance_scale": [1, 2]}
    extra = [{"prior.type": "text_as_image"}]
    variants = expand_variants(experiment(model="m", axes=axes, variants=extra, prompts=["p"], baseline={"prior.type": "text_as_image"}))
    assert variants[0].label == "prior.type=text_as_image" and len(variants) == 5
    named = expand_variants(experiment(model="m", axes=axes, prompts=["p"], baseline={"prior.type": "ar_prior", "prior.guidance_scale": 2}))
    assert named[0].label == "prior.type=ar_prior prior.guidance_scale=2"
    with pytest.raises(ConfigError, match="baseline: 2 variants have prior.type=ar_prior .*add axis values"):
        expand_variants(experiment(model="m", axes=axes, prompts=["p"], baseline={"prior.type": "ar_prior"}))


def test_settings_for_an_axis_value_shape_the_graph_but_not_the_label():
    exp = experiment(model="m", axes={"prior.type": ["diffusion_prior", "ar_prior"], "prior.guidance_scale": [1, 2]},
                     settings_for={"prior.type=ar_prior": ["prior.buckets=32"], "prior.guidance_scale=2": ["decoder.guidance_scale=2"]},
                     prompts=["p"])
    implied = {v.label: v.implied for v in expand_variants(exp)}
    assert implied == {
        "prior.type=diffusion_prior prior.guidance_scale=1": (),
        "prior.type=diffusion_prior prior.guidance_scale=2": ("decoder.guidance_scale=2",),
        "prior.type=ar_prior prior.guidance_scale=1": ("prior.buckets=32",),
        "prior.type=ar_prior prior.guidance_scale=2": ("prior.buckets=32", "decoder.guidance_scale=2"),
    }
    ar = next(v for v in expand_variants(exp) if v.label == "prior.type=ar_prior prior.guidance_scale=1")
    assert ar.overrides == ["prior.type=ar_prior", "prior.guidance_scale=1", "prior.buckets=32"]


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "configs" / "experiments").glob("*.yaml")))
def test_shipped_experiments_are_valid(name):
    from unclip_core.experiments.spec import load_experiment

    exp = load_experiment(ROOT / "configs" / "experiments" / name)
    assert all(values for values in exp.axes.values())


@pytest.mark.parametrize(
    "overrides, trained",
    [
        (["decoder.sampler.type=dpmpp_2m", "decoder.guidance_scale=1.5", "prior.samples_per_prompt=1"], []),
        (["prior.depth=1"], ["prior"]),
        (["prior.type=text_as_image"], []),  # nothing to learn: built, not trained
        (["train.decoder.lr=1e-4"], ["decoder"]),
        (["upsamplers.0.channels=16"], ["upsampler_0"]),
        (["data.batch_size=8"], ["encoder", "prior", "decoder", "upsampler_0"]),
        (["encoder.model=unclip-emoji"], ["encoder", "prior", "decoder", "upsampler_0"]),
    ],
)
def test_a_variant_trains_the_stages_its_overrides_change(overrides, trained):
    from unclip_core.experiments.retraining import stages_to_train
    from unclip_core.graph import load_graph

    base = load_graph("configs/tiny.yaml")
    assert stages_to_train(base, load_graph("configs/tiny.yaml", overrides)) == trained


def test_paired_differences_tell_a_consistent_gain_that_unpaired_intervals_would_hide():
    from unclip_core.experiments.paired import markdown_section, paired_difference

    hard_and_easy = [0.1 * (i % 10) for i in range(40)]  # prompts differ far more than the variants do
    base = {"settings": {"steps": 2}, "per_prompt": {"clip_score": hard_and_easy}}
    better = {"settings": {"steps": 4}, "per_prompt": {"clip_score": [v + 0.01 for v in hard_and_easy]}}
    same = {"settings": {"steps": 8}, "per_prompt": {"clip_score": list(reversed(hard_and_easy))}}
    difference, low, high = paired_difference(base, better, "clip_score")
    assert math.isclose(difference, 0.01, abs_tol=1e-9) and 0 < low <= 0.01 <= high
    _, low, high = paired_difference(base, same, "clip_score")
    assert low < 0 < high
    lines = markdown_section([base, better, same], ["steps"], lambda x: f"{x:.3g}")
    assert lines[0] == "## Against steps=2, prompt by prompt"
    assert lines[4].startswith("| 4 | +0.01 [") and lines[4].endswith("] * |")
    assert lines[5].startswith("| 8 | ") and not lines[5].endswith("* |")
    # Records written before metrics kept per-prompt values have no such section.
    assert markdown_section([{"settings": {}}, {"settings": {}}], [], str) == []


def test_plots_draw_seed_intervals_and_fall_back_to_the_prompts_interval_for_one_seed():
    from unclip_core.experiments.plots import error_bars

    two_seeds = {"settings": {}, "metrics": {"clip_score": 0.5}, "metrics_std": {"clip_score": 0.1}, "seeds": 2,
                 "metrics_prompts_ci95": {"clip_score": [0.4, 0.7]}}
    one_seed = {"settings": {}, "metrics": {"clip_score": 0.5}, "metrics_std": {}, "seeds": 1,
                "metrics_prompts_ci95": {"clip_score": [0.4, 0.7]}}
    kind, (below, above) = error_bars([two_seeds], "clip_score")
    assert kind == "seeds" and below == above and math.isclose(below[0], 12.706 * 0.1 / math.sqrt(2))
    kind, (below, above) = error_bars([one_seed], "clip_score")
    assert kind == "prompts" and math.isclose(below[0], 0.1) and math.isclose(above[0], 0.2)
    assert error_bars([{**one_seed, "metrics_prompts_ci95": {}}], "clip_score") is None
    # Every prompt right: the interval is the mean itself, up to rounding, and no bar is negative.
    everywhere = {**one_seed, "metrics": {"clip_score": 0.9999999999999}, "metrics_prompts_ci95": {"clip_score": [1.0, 1.0]}}
    below, above = error_bars([everywhere], "clip_score")[1]
    assert below == [0.0] and 0 <= above[0] < 1e-12


def test_each_prompt_s_value_averages_its_images_and_seeds():
    from unclip_core.experiments.runner import _per_prompt

    # Two seeds, three prompts, two images each (prompt-major, as generated).
    seed0 = torch.tensor([1.0, 3.0, 10.0, 10.0, 0.0, 2.0], dtype=torch.float64)
    seed1 = torch.tensor([5.0, 7.0, 20.0, 20.0, 4.0, 6.0], dtype=torch.float64)
    assert _per_prompt([seed0, seed1], images_per_prompt=2).tolist() == [4.0, 15.0, 3.0]
