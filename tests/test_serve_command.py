"""`unclip serve`'s command line and model list, without starting a server."""

import pytest

from unclip_core.catalog import load_catalog
from unclip_core.errors import InputError
from unclip_core.cli import main
from unclip_core.plugins import get_registry
from unclip_core.serve.model_pool import ModelPool, available_models


def test_bad_options_are_one_line_errors(capsys):
    assert main(["serve", "--concurrency", "0"]) == 2
    assert "--concurrency must be at least 1, got 0" in capsys.readouterr().err
    assert main(["serve", "--port", "70000"]) == 2
    assert "--port must be between 0 and 65535" in capsys.readouterr().err


def test_the_model_picker_offers_catalog_and_plugin_models_default_first():
    catalog = load_catalog()
    names = available_models()
    assert names[0] == catalog.default_model
    assert set(catalog.models) | set(get_registry().models()) == set(names)


def test_a_model_not_offered_is_named_with_the_ones_that_are():
    pool = ModelPool(["unclip-emoji"])
    assert pool.resolve(None) == "unclip-emoji"
    with pytest.raises(InputError, match="does not offer the model 'elsewhere'; it offers: unclip-emoji"):
        pool.resolve("elsewhere")
