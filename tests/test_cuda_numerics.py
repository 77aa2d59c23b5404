"""CUDA numerics are switched on explicitly, never by constructing a model."""

from __future__ import annotations

import pytest
import torch

from twinmlp import torch_impl
from twinmlp.torch_impl.cuda import exact_cuda_numerics

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def process_settings() -> tuple[bool, bool, bool]:
    return (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
            torch.are_deterministic_algorithms_enabled())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("tf32", [True, False])
def test_constructing_a_model_changes_no_process_setting(device: str, tf32: bool) -> None:
    torch.backends.cuda.matmul.allow_tf32 = tf32  # as a user's notebook may have left it
    try:
        before = process_settings()
        torch_impl.MLP([4, 3, 2], device=device).predict(torch.zeros(1, 4))
        assert process_settings() == before
    finally:
        torch.backends.cuda.matmul.allow_tf32 = False


def test_the_context_sets_exact_numerics_and_restores_the_previous_ones() -> None:
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        with exact_cuda_numerics():
            assert process_settings() == (False, False, True)
        assert process_settings() == (True, torch.backends.cudnn.allow_tf32, False)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = False


def test_training_a_cpu_model_leaves_the_settings_alone() -> None:
    before = process_settings()
    model = torch_impl.MLP([4, 3, 2], dtype="float64")
    model.fit(torch.randn(16, 4).numpy(), [0, 1] * 8, epochs=1, batch_size=8, verbose=False)
    assert process_settings() == before
