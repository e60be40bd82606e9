"""Plugins add `unclip` subcommands through the unclip_register_commands hook."""

from __future__ import annotations

import sys

import pytest

from unclip_core import hookimpl
from unclip_core.cli import main
from unclip_core.errors import InputError, PluginError
from unclip_core.plugins import set_registry
from unclip_core.testing import installed_plugins


def test_the_example_package_command_measures_heun_against_the_exact_solution(capsys):
    assert main(["heun-demo", "--steps", "4", "16", "--samples", "256"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["steps", "evaluations", "heun", "error", "ddim", "error"]
    rows = [line.split() for line in lines[2:]]
    (steps_few, evals_few, heun_few, ddim_few), (steps_many, evals_many, heun_many, ddim_many) = rows
    assert (steps_few, evals_few, steps_many, evals_many) == ("4", "6", "16", "30")  # 2 per step but the last
    # Second order: four times the steps cuts the error about sixteenfold; Euler (DDIM) only fourfold.
    assert float(heun_many) < float(heun_few) / 10
    assert float(heun_many) < float(ddim_many) / 3


def test_the_example_command_reports_bad_options_in_one_line(capsys):
    assert main(["heun-demo", "--steps", "0"]) == 2
    assert capsys.readouterr().err == (
        "error: --steps must lie between 1 and 500 (Heun evaluates up to twice per step); got [0]\n"
    )


class Greets:
    """A plugin adding `unclip greet`."""

    def __init__(self, name: str = "greet") -> None:
        self.name = name

    @hookimpl
    def unclip_register_commands(self, register):
        register(self.name, self.run, help="say hello", arguments=self.arguments)

    @staticmethod
    def arguments(parser):
        parser.add_argument("who")
        parser.add_argument("--times", type=int, default=1)

    @staticmethod
    def run(args):
        if args.times < 1:
            raise InputError(f"--times must be at least 1, got {args.times}")
        print(" ".join([f"hello {args.who}"] * args.times))


def test_an_in_process_plugin_adds_a_command(capsys):
    with installed_plugins(greeter=Greets()):
        assert main(["greet", "world", "--times", "2"]) == 0
        assert capsys.readouterr().out == "hello world hello world\n"
        assert main(["greet", "world", "--times", "0"]) == 2
        assert capsys.readouterr().err == "error: --times must be at least 1, got 0\n"


GREETER = """
from unclip_core import hookimpl


@hookimpl
def unclip_register_commands(register):
    register({command!r}, lambda args: print("hello"), help="say hello")
"""

CRASHES = """
from unclip_core import hookimpl


@hookimpl
def unclip_register_commands(register):
    raise RuntimeError("no greeting today")
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder on sys.path where `install(name, source)` puts a package with an `unclip` entry point.

    The unclip command builds its registry afresh, so it finds them as it finds any installed package.
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    previous = set_registry(None)

    def install(name: str, source: str | None) -> None:
        module = f"unclip_test_{name}"
        if source is not None:
            (tmp_path / f"{module}.py").write_text(source)
            monkeypatch.delitem(sys.modules, module, raising=False)
        info = tmp_path / f"{module}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[unclip]\n{name} = {module}\n")

    yield install
    set_registry(previous)


def test_a_plugin_that_fails_to_import_is_one_error_line(site, capsys):
    site("broken", None)  # the entry point names a module that is not there
    assert main(["plugins"]) == 2
    assert capsys.readouterr().err == (
        "error: plugin 'broken' (unclip_test_broken) failed to import: No module named 'unclip_test_broken'\n"
    )
    with pytest.raises(PluginError, match="failed to import"):
        main(["--debug", "plugins"])


def test_a_plugin_whose_hook_crashes_is_one_error_line_naming_it(site, capsys):
    site("crashes", CRASHES)
    assert main(["plugins"]) == 2
    assert capsys.readouterr().err == (
        "error: plugin 'crashes' failed in unclip_register_commands: RuntimeError: no greeting today; "
        "fix or uninstall it, or leave it out with UNCLIP_LOAD_PLUGINS\n"
    )


def test_two_plugins_adding_one_command_is_an_error_naming_both(site, capsys):
    site("first", GREETER.format(command="greet"))
    site("second", GREETER.format(command="greet"))
    assert main(["plugins"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: two plugins add the command 'unclip greet': '") and err.count("\n") == 1
    assert "'first'" in err and "'second'" in err


def test_a_plugin_command_named_like_a_built_in_is_an_error(site, capsys):
    site("shadow", GREETER.format(command="plugins"))
    assert main(["plugins"]) == 2
    assert capsys.readouterr().err == (
        "error: plugin 'shadow' adds the command 'unclip plugins', which unclip already has; "
        "the plugin must name its command differently (or leave it out with UNCLIP_LOAD_PLUGINS)\n"
    )


def test_an_installed_plugin_command_runs(site, capsys):
    site("greeter", GREETER.format(command="greet"))
    assert main(["greet"]) == 0
    assert capsys.readouterr().out == "hello\n"
