"""Core is written against interfaces only: it imports no plugin and names no built-in type.

A built-in loads exactly as a third-party package does, so anything core knew about one by
name would be a privilege a third-party plugin could not have.
"""

import ast
import re

from unclip_core.catalog import load_catalog
from unclip_core.plugins import build_registry, plugin_manager

from .conftest import ROOT

CORE = ROOT / "unclip_core"


def built_in_names() -> set[str]:
    built_ins = set(load_catalog().plugins)
    return {e.name for e in build_registry(plugin_manager()).entries() if e.plugin in built_ins}


def strings_and_imports(tree: ast.AST):
    # A string used as a mapping key names a field of a file format or a dict, not a component.
    keys = {id(k) for node in ast.walk(tree) if isinstance(node, ast.Dict) for k in node.keys if k is not None}
    keys |= {id(node.slice) for node in ast.walk(tree) if isinstance(node, ast.Subscript)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in keys:
            yield node.lineno, node.value
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, f"import {alias.name}") for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, f"import {node.module}"


def test_core_imports_no_plugin_and_names_no_built_in_type():
    names = built_in_names()
    assert {"diffusion_prior", "unet_decoder"} <= names  # the registry really holds the built-ins
    naming = re.compile(
        r"(?:type\s*[:=]\s*|['\"`])(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")\b"
    )
    found = []
    for path in sorted(CORE.rglob("*.py")):
        for line, text in strings_and_imports(ast.parse(path.read_text())):
            where = f"{path.relative_to(ROOT)}:{line}"
            if text in names:
                found.append(f"{where}: the string '{text}'")
            elif text.startswith("import unclip_plugins"):
                found.append(f"{where}: {text}")
            elif match := naming.search(text):
                found.append(f"{where}: '{match.group(0)}' in {text[:60]!r}")
    assert not found, "core names plugins:\n" + "\n".join(found)
