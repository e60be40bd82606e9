import pytest
from omegaconf import OmegaConf

from unclip_core.errors import ConfigError
from unclip_core.graph import build, graph_from_dict, load_graph
from unclip_core.training.trainer import make_trainer

from .conftest import ROOT

TINY = ROOT / "configs" / "tiny.yaml"  # one upsampler


def test_tiny_config_validates_and_resolves_round_trip():
    graph = load_graph(ROOT / "configs/tiny.yaml")
    again = graph_from_dict(OmegaConf.create(graph.to_yaml()))
    assert again == graph
    assert graph.encoder.config.model == "unclip-tiny"


def test_overrides_set_nested_values_with_yaml_types(tiny_graph_dict):
    graph = graph_from_dict(tiny_graph_dict, ["encoder.image_size=48", "seed=7", "trainer.max_steps=5"])
    assert graph.encoder.config.image_size == 48
    assert graph.seed == 7 and graph.trainer == {"max_steps": 5}


def test_unknown_key_names_full_path_and_closest_key(tiny_graph_dict):
    with pytest.raises(ConfigError, match=r"unknown key 'encoder.pretrainde' \(did you mean 'pretrained'\?\)"):
        graph_from_dict(tiny_graph_dict, ["encoder.pretrainde=null"])


def test_unknown_top_level_key(tiny_graph_dict):
    with pytest.raises(ConfigError, match=r"unknown top-level key 'decodr' \(did you mean 'decoder'\?\)"):
        graph_from_dict({**tiny_graph_dict, "decodr": {"type": "x"}})


def test_unknown_nested_stage_key(tiny_graph_dict):
    with pytest.raises(ConfigError, match=r"unknown key 'train.clip.learning_rate'"):
        graph_from_dict(tiny_graph_dict, ["train.clip.learning_rate=0.1"])


def test_unknown_type_lists_registered_names(tiny_graph_dict):
    with pytest.raises(ConfigError, match=r"unknown encoder type 'open_clap' \(did you mean 'open_clip'\?\); registered encoder types: (\w+, )*open_clip"):
        graph_from_dict(tiny_graph_dict, ["encoder.type=open_clap"])


def test_wrong_value_type_names_key_and_value(tiny_graph_dict):
    with pytest.raises(ConfigError, match=r"encoder.image_size: .*integer.*'big'"):
        graph_from_dict(tiny_graph_dict, ["encoder.image_size=big"])


def test_compile_takes_a_switch_or_a_torch_compile_mode(tiny_graph_dict):
    assert graph_from_dict(tiny_graph_dict, ["train.decoder.compile=reduce-overhead"]).train.decoder.compile == "reduce-overhead"
    assert graph_from_dict(tiny_graph_dict, ["train.decoder.compile=true"]).train.decoder.compile is True
    with pytest.raises(ConfigError, match=r"train.decoder.compile: .*true, false or a torch.compile mode \(default, reduce-overhead"):
        graph_from_dict(tiny_graph_dict, ["train.decoder.compile=fast"])


def test_one_upsampler_trains_with_its_own_section_over_the_shared_one(tmp_path):
    shared = ["train.upsampler.lr=0.002", "train.upsampler.max_steps=7", f"run_dir={tmp_path}"]
    graph = load_graph(TINY, [*shared, "train.upsampler_0.max_steps=3"])
    own = graph.train.for_stage("upsampler_0")
    assert (own.max_steps, own.lr, graph.train.section_of("upsampler_0")) == (3, 0.002, "upsampler_0")
    assert graph.train.upsampler.max_steps == 7
    assert graph_from_dict(OmegaConf.create(graph.to_yaml())) == graph
    assert make_trainer(graph, "upsampler", directory="upsampler_0")[0].max_steps == 3
    assert make_trainer(load_graph(TINY, shared), "upsampler", directory="upsampler_0")[0].max_steps == 7


@pytest.mark.parametrize("override, message", [
    ("train.upsampler_1.lr=0.1", r"train.upsampler_1: the graph has 1 upsampler \(upsampler_0\); name one of them"),
    ("train.upsampler_0.lrr=0.1", r"unknown key 'train.upsampler_0.lrr' \(did you mean 'lr'\?\)"),
    ("train.upsamplers.lr=0.1", r"unknown key 'train.upsamplers' \(did you mean 'upsampler'\?\)"),
])
def test_bad_upsampler_sections_are_named(override, message):
    with pytest.raises(ConfigError, match=message):
        load_graph(TINY, [override])


def test_trainer_section_takes_only_lightning_arguments(tiny_graph_dict):
    with pytest.raises(ConfigError, match=r"unknown key 'trainer.max_step' \(did you mean 'max_steps'\?\)"):
        graph_from_dict(tiny_graph_dict, ["trainer.max_step=3"])


def test_malformed_override(tiny_graph_dict):
    with pytest.raises(ConfigError, match="must look like key=value"):
        graph_from_dict(tiny_graph_dict, ["encoder.image_size"])


def test_missing_encoder_and_missing_type():
    with pytest.raises(ConfigError, match="no `encoder:` section"):
        graph_from_dict({"seed": 1})
    with pytest.raises(ConfigError, match=r"encoder: missing `type:`; registered encoder types: (\w+, )*open_clip"):
        graph_from_dict({"encoder": {"model": "unclip-tiny"}})


def test_config_cannot_name_import_paths(tiny_graph_dict):
    with pytest.raises(ConfigError, match="unknown encoder type 'os.system'"):
        graph_from_dict(tiny_graph_dict, ["encoder.type=os.system"])


def test_build_gives_a_typed_encoder(tiny_graph_dict):
    components = build(graph_from_dict(tiny_graph_dict))
    assert components.encoder.spec.embed_dim == 64
    assert components.prior is None and components.decoder is None and components.upsamplers == []


def test_missing_config_file_is_named():
    with pytest.raises(ConfigError, match="config file 'nowhere.yaml' not found"):
        load_graph("nowhere.yaml")


def test_invalid_yaml_is_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("encoder: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_graph(bad)
