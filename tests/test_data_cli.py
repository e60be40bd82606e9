"""The data commands: success returns 0, bad input returns 2 with a one-line error."""

from __future__ import annotations

import pytest

from unclip_core.cli import main


@pytest.mark.parametrize(
    "argv, message",
    [
        (["data", "export", "--out", "{tmp}/x"], "--data TYPE"),
        (["data", "export", "--data", "shapes", "--out", "{tmp}/x", "--shard-size", "0"], "--shard-size"),
        (["data", "export", "--data", "shape", "--out", "{tmp}/x"], "did you mean 'shapes'"),
        (["data", "export", "--data", "shapes", "--out", "{tmp}/x", "data.bogus=1"], "unknown key 'data.bogus'"),
        (["embed", "--config", "{tmp}/nodata.yaml", "--out", "{tmp}/x"], "no data: section"),
        (["embed", "--config", "{tmp}/embeddings.yaml", "--out", "{tmp}/x"], "not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, argv, message):
    (tmp_path / "nodata.yaml").write_text("encoder: {type: open_clip}\n")
    (tmp_path / "embeddings.yaml").write_text(f"encoder: {{type: open_clip}}\ndata: {{type: embeddings, path: {tmp_path}/none}}\n")
    code = main([part.format(tmp=tmp_path) for part in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err


def test_export_prints_where_it_wrote(tmp_path, capsys):
    argv = ["data", "export", "--data", "shapes", "--out", str(tmp_path), "--split", "val", "data.val_size=5", "data.image_size=16"]
    assert main(argv) == 0
    assert f"wrote 5 val samples of 'shapes' to {tmp_path / 'val'}" in capsys.readouterr().out


def test_config_data_section_can_be_retyped(tmp_path, capsys):
    graph = tmp_path / "g.yaml"
    graph.write_text("encoder: {type: open_clip}\ndata: {type: emoji, image_size: 16, limit: 3}\n")
    argv = ["data", "export", "--config", str(graph), "--data", "shapes", "--out", str(tmp_path / "o"), "--split", "val", "data.val_size=2"]
    assert main(argv) == 0
    assert "2 val samples of 'shapes'" in capsys.readouterr().out
