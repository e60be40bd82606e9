"""Every package folder is listed in pyproject.toml, since `plugins/` installs under another name."""

import tomllib

from .conftest import ROOT


def test_every_package_folder_is_installed():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for top, name in (("unclip_core", "unclip_core"), ("plugins", "unclip_plugins")):
        for init in (ROOT / top).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / top).parts
            found.add(".".join((name, *relative)))
    assert found == listed
