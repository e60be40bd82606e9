from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tiny_graph_dict() -> dict:
    """A minimal graph: just the tiny encoder."""
    return {"encoder": {"type": "open_clip", "model": "unclip-tiny"}, "seed": 0}
