"""Regenerate the component reference in docs/config.md from the registered Config classes.

    python scripts/config_reference.py          # rewrite docs/config.md
    python scripts/config_reference.py --check  # exit 1 if docs/config.md is out of date
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["UNCLIP_LOAD_PLUGINS"] = ""  # built-in components only

from unclip_core.plugins import get_registry  # noqa: E402

DOC = Path(__file__).resolve().parent.parent / "docs" / "config.md"
BEGIN, END = "<!-- reference:begin -->", "<!-- reference:end -->"


def _type_name(annotation) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation).replace("typing.", "")
    return text.replace("|", "\\|")


def reference() -> str:
    lines = []
    for entry in get_registry().entries():
        lines += [f"### {entry.kind}: `{entry.name}`", "", entry.cls.summary(), ""]
        fields = entry.cls.Config.model_fields
        nested = entry.cls.nested
        if not fields and not nested:
            lines += ["No options.", ""]
            continue
        lines += ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        for key, kind in nested.items():
            lines.append(f"| `{key}` | {kind} section | required | a `{{type: ...}}` section of kind {kind} |")
        for key, field in fields.items():
            default = "required" if field.is_required() else f"`{field.default!r}`"
            lines.append(f"| `{key}` | {_type_name(field.annotation)} | {default} | {field.description or ''} |")
        lines.append("")
        if entry.cls.sampling_fields:
            names = ", ".join(f"`{name}`" for name in sorted(entry.cls.sampling_fields))
            lines += [f"Sampling settings (no weights depend on them: experiments vary them without training, and "
                      f"`Pipeline.generate` takes them for one call as `{entry.kind}_options`): {names}.", ""]
    return "\n".join(lines)


def render(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{reference()}\n{END}{tail}"


if __name__ == "__main__":
    current = DOC.read_text()
    fresh = render(current)
    if "--check" in sys.argv:
        sys.exit(0 if fresh == current else 1)
    DOC.write_text(fresh)
