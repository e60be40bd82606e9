"""The `unclip` command: tables, resolved configs, and one-line errors with exit code 2."""

import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from unclip_core.cli import main

from .conftest import ROOT


def test_plugins_lists_every_kind_name_and_plugin(capsys):
    assert main(["plugins"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["kind", "name", "plugin", "summary"]
    rows = {tuple(line.split()[:3]) for line in lines[2:]}
    for row in [("encoder", "open_clip", "unclip.open_clip"), ("sampler", "ddim", "unclip.samplers"),
                ("sampler", "ddpm", "unclip.samplers"), ("sampler", "dpmpp_2m", "unclip.samplers"),
                ("sampler", "heun", "heun")]:
        assert row in rows


def test_config_show_prints_the_resolved_graph(capsys, tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text("encoder: {type: open_clip, model: unclip-tiny}\n")
    assert main(["config", "show", "--config", str(graph), "encoder.image_size=48", "seed=3"]) == 0
    shown = OmegaConf.create(capsys.readouterr().out)
    assert shown.encoder.image_size == 48 and shown.encoder.pretrained is None and shown.seed == 3
    assert shown.train.clip.lr > 0  # defaults are filled in


def test_errors_are_one_line_with_exit_code_2(capsys, tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text("encoder: {type: open_clip, modl: unclip-tiny}\n")
    assert main(["config", "show", "--config", str(graph)]) == 2
    err = capsys.readouterr().err
    assert err == "error: unknown key 'encoder.modl' (did you mean 'model'?)\n"


def test_debug_shows_the_traceback(tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text("encoder: {type: nope}\n")
    with pytest.raises(Exception, match="unknown encoder type 'nope'"):
        main(["--debug", "config", "show", "--config", str(graph)])


def test_console_script_runs_as_installed():
    result = subprocess.run([sys.executable, "-m", "unclip_core.cli", "plugins"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "open_clip" in result.stdout


def test_commands_that_build_no_encoder_never_import_open_clip():
    """open_clip (with torchvision and torch's compiler) takes seconds to import: listing the
    plugins or refusing a bad number before the model loads must not pay for it."""
    code = (
        "import sys\n"
        "from unclip_core.cli import main\n"
        "assert main(['plugins']) == 0\n"
        "assert main(['generate', 'x', '--decoder-guidance', 'nan']) == 2\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('open_clip', 'torchvision'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
