"""An editing operation's declarations give it a Pipeline method and an `unclip` command.

The operation here is a third-party one, registered in-process: nothing in core knows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

import pytest
from PIL import Image, ImageChops
from pydantic import Field

from unclip_core import hookimpl
from unclip_core.cli import main
from unclip_core.errors import InputError, PluginError
from unclip_core.graph import graph_from_dict
from unclip_core.interfaces import ComponentConfig, EditingOperation, EditInputs
from unclip_core.interfaces.editing import command_line
from unclip_core.pipeline import Pipeline
from unclip_core.pipeline_editing import call_options
from unclip_core.testing import installed_plugins
from unclip_plugins.editing.interpolation import Interpolation

SIDE = 12


class MirrorConfig(ComponentConfig):
    axis: Literal["horizontal", "vertical"] = Field("horizontal", description="Which way to flip.")
    keep_original: bool = Field(
        True, description="Put the unflipped image first.", json_schema_extra=command_line("--flipped-only")
    )


class MirrorInputs(EditInputs):
    image: Image.Image | str | Path = Field(description="The image to flip.")
    copies: int = Field(2, ge=1, description="How many flipped copies.")
    corners: tuple[int, int] | None = Field(None, description="Crop to this many pixels from the top left first.")
    seed: int | None = None


class Mirror(EditingOperation):
    """Mirror images: flips an image, as many times as asked."""

    name: ClassVar[str] = "mirror"
    Config: ClassVar[type[MirrorConfig]] = MirrorConfig
    Inputs: ClassVar[type[MirrorInputs]] = MirrorInputs
    method: ClassVar[str] = "mirrored"
    arguments: ClassVar[tuple[str, ...]] = ("image", "copies")
    command: ClassVar[str] = "mirror"
    command_arguments: ClassVar[tuple[str, ...]] = ("image",)
    layout: ClassVar[str] = "grid"

    seen: ClassVar[list] = []

    def apply(self, pipeline, inputs: MirrorInputs) -> list[Image.Image]:
        Mirror.seen.append((pipeline, inputs.seed))
        image = inputs.image if isinstance(inputs.image, Image.Image) else Image.open(inputs.image).convert("RGB")
        if inputs.corners is not None:
            image = image.crop((0, 0, *inputs.corners))
        flip = Image.Transpose.FLIP_LEFT_RIGHT if self.config.axis == "horizontal" else Image.Transpose.FLIP_TOP_BOTTOM
        flipped = [image.transpose(flip) for _ in range(inputs.copies)]
        return [image, *flipped] if self.config.keep_original else flipped


class Registers:
    def __init__(self, *classes):
        self.classes = classes

    @hookimpl
    def unclip_register_components(self, register):
        for cls in self.classes:
            register(cls)


def picture() -> Image.Image:
    image = Image.new("RGB", (SIDE, SIDE), (0, 0, 0))
    image.paste((255, 0, 0), (0, 0, 4, SIDE))  # a red stripe on the left
    return image


def same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a, b).getbbox() is None


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """An encoder-only pipeline folder: enough to load; the operation needs no trained stage."""
    graph = graph_from_dict({"encoder": {"type": "open_clip", "model": "unclip-tiny"}, "seed": 0})
    return Pipeline.from_graph(graph).save_pretrained(tmp_path_factory.mktemp("model") / "encoder-only")


@pytest.fixture(scope="module")
def pipe(model) -> Pipeline:
    return Pipeline.from_pretrained(model)


def test_a_registered_operation_becomes_a_pipeline_method(pipe):
    source = picture()
    with installed_plugins(mirrors=Registers(Mirror)):
        images = pipe.mirrored(source, 3, axis="vertical")
        assert len(images) == 4 and same(images[0], source)
        assert all(same(image, source.transpose(Image.Transpose.FLIP_TOP_BOTTOM)) for image in images[1:])
        assert len(pipe.edit("mirror", image=source, keep_original=False)) == 2  # defaults from the fields
        assert "mirrored" in dir(pipe) and "Mirror images" in pipe.mirrored.__doc__
        with pytest.raises(TypeError, match="multiple values for argument 'copies'"):
            pipe.mirrored(source, 2, copies=3)
        with pytest.raises(InputError, match="copies"):
            pipe.mirrored(source, 0)
    with pytest.raises(AttributeError, match="mirrored"):
        pipe.mirrored(source)


def test_a_registered_operation_becomes_a_command(model, tmp_path, capsys):
    path, out = tmp_path / "in.png", tmp_path / "out.png"
    picture().save(path)
    with installed_plugins(mirrors=Registers(Mirror)):
        Mirror.seen.clear()
        args = ["mirror", str(path), "--copies", "3", "--axis", "vertical", "--model", str(model), "--device", "cpu"]
        assert main([*args, "-o", str(out)]) == 0
        assert Image.open(out).size == (2 * SIDE + 2, 2 * SIDE + 2)  # four tiles: a square grid
        assert isinstance(Mirror.seen[-1][0], Pipeline) and Mirror.seen[-1][1] == 0  # seed defaults to 0
        assert f"wrote 4 images to {out}" in capsys.readouterr().out
        assert main(["mirror", str(path), "--flipped-only", "--corners", "5", "7", "--model", str(model), "-o", str(out)]) == 0
        assert Image.open(out).size == (2 * 5 + 2, 7)  # two flipped copies of the 5x7 crop
        assert main(["mirror", str(path), "--copies", "0", "--model", str(model), "-o", str(out)]) == 2
        assert capsys.readouterr().err.startswith("error: mirror: copies:")
    with pytest.raises(SystemExit):
        main(["mirror", str(path), "-o", str(out)])  # gone with its plugin
    assert "invalid choice: 'mirror'" in capsys.readouterr().err


def test_positional_arguments_fill_the_declared_fields():
    a, b = picture(), picture()
    assert call_options(Interpolation, (a, b), {"frames": 3}) == {"images": (a, b), "frames": 3}
    assert call_options(Interpolation, (), {"prompts": ["x", "y"]}) == {"prompts": ["x", "y"]}
    assert call_options(Interpolation, (None, None), {"prompts": ["x", "y"]}) == {"prompts": ["x", "y"]}
    assert call_options(Interpolation, (a,), {}) == {"images": (a, None)}
    with pytest.raises(TypeError, match=r"interpolate\(\) takes 2 positional arguments but 3 were given"):
        call_options(Interpolation, (a, b, a), {})


class Misdeclared(Mirror):
    """Names a positional argument it does not have."""

    name: ClassVar[str] = "misdeclared"
    method: ClassVar[str] = "misdeclared"
    command: ClassVar[str] = "misdeclared"
    arguments: ClassVar[tuple[str, ...]] = ("image", "colour")


class ClaimsGenerate(Mirror):
    """Wants a method the Pipeline already has."""

    name: ClassVar[str] = "claims_generate"
    method: ClassVar[str] = "generate"
    command: ClassVar[str] = "claims-generate"


class SecondMirror(Mirror):
    """Another operation with the same command."""

    name: ClassVar[str] = "second_mirror"
    method: ClassVar[str] = "mirrored_again"
    command: ClassVar[str] = "mirror"


def test_bad_declarations_are_errors_naming_the_plugin(pipe, capsys):
    with pytest.raises(PluginError, match=r"plugin 'odd': Misdeclared: `arguments` names 'colour'"):
        with installed_plugins(odd=Registers(Misdeclared)):
            pass
    with installed_plugins(greedy=Registers(ClaimsGenerate)):
        with pytest.raises(PluginError, match="'claims_generate' \\(plugin 'greedy'\\) declares the method 'generate'"):
            pipe.anything_else  # noqa: B018 - any lookup of an editing method checks every declaration
    with installed_plugins(one=Registers(Mirror), two=Registers(SecondMirror)):
        assert main(["plugins"]) == 2
        err = capsys.readouterr().err
        assert err == "error: two plugins add the command 'unclip mirror': 'one' and 'two'; uninstall one or restrict UNCLIP_LOAD_PLUGINS\n"


class GreedyInputs(MirrorInputs):
    decoder_options: dict | None = None


class TakesStageOptions(Mirror):
    """An operation with a field named as the stages' settings every call takes."""

    name: ClassVar[str] = "takes_stage_options"
    method: ClassVar[str] = "takes_stage_options"
    command: ClassVar[str] = "takes-stage-options"
    Inputs: ClassVar[type[GreedyInputs]] = GreedyInputs


def test_stage_options_are_every_calls_and_no_operations_field(pipe):
    with pytest.raises(PluginError, match="a field may not be named 'decoder_options'"):
        with installed_plugins(greedy=Registers(TakesStageOptions)):
            pass
    with installed_plugins(mirrors=Registers(Mirror)):
        # This pipeline has an encoder only: settings for its decoder are refused, by name.
        with pytest.raises(InputError, match="this pipeline has no decoder, so it has no decoder settings to set"):
            pipe.mirrored(picture(), 1, decoder_options={"guidance_scale": 2})
        assert "decoder_options" in pipe.mirrored.__doc__


class Generate(Mirror):
    """An operation whose command is a built-in one."""

    name: ClassVar[str] = "generate_op"
    method: ClassVar[str] = "generate_op"
    command: ClassVar[str] = "generate"


def test_a_command_clashing_with_a_built_in_is_an_error(capsys):
    with installed_plugins(clash=Registers(Generate)):
        assert main(["plugins"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: plugin 'clash' adds the command 'unclip generate', which unclip already has")
    assert err.count("\n") == 1


class WeightedInputs(MirrorInputs):
    weights: dict[str, float] = Field(default_factory=dict, description="No command-line form.")


class HiddenWeightedInputs(MirrorInputs):
    weights: dict[str, float] = Field(default_factory=dict, json_schema_extra=command_line(hidden=True))


class Weighted(Mirror):
    """Has a field the command line cannot parse."""

    name: ClassVar[str] = "weighted"
    Inputs: ClassVar[type[WeightedInputs]] = WeightedInputs
    method: ClassVar[str] = "weighted"
    command: ClassVar[str] = "weighted"


class HiddenWeighted(Weighted):
    """The same field, left off the command."""

    name: ClassVar[str] = "hidden_weighted"
    Inputs: ClassVar[type[HiddenWeightedInputs]] = HiddenWeightedInputs
    method: ClassVar[str] = "hidden_weighted"
    command: ClassVar[str] = "hidden-weighted"


def test_a_field_without_a_command_line_form_is_named_or_hidden(capsys):
    with installed_plugins(odd=Registers(Weighted)):
        assert main(["plugins"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: plugin 'odd': editing operation 'weighted' field 'weights' cannot become a command-line")
    assert "command_line(hidden=True)" in err and err.count("\n") == 1
    with installed_plugins(tidy=Registers(HiddenWeighted)):
        assert main(["plugins"]) == 0
        with pytest.raises(SystemExit):
            main(["hidden-weighted", "--help"])
    shown = capsys.readouterr().out
    assert "--copies" in shown and "--weights" not in shown
