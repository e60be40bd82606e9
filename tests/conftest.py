from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tiny_graph_dict() -> dict:
    """A minimal graph: just the tiny encoder."""
    return {"encoder": {"type": "open_clip", "model": "unclip-tiny"}, "seed": 0}


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Test machines are small and shared: two OpenMP threads on busy cores run far slower than one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
