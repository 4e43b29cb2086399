"""Shared pieces of the MusicGen tests: the debug codec's rate and a single-threaded torch fixture."""

from __future__ import annotations

import pytest

DEBUG_RATE = 8000
"""Sample rate of the debug checkpoints' codec (200 codec frames per second)."""


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run fastest single-threaded (and the test machine is shared)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
