"""The thread policy: chosen by the size of the products, scoped, and the user's settings win."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info

from twinmlp.shared import threads
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.threads import (
    SINGLE_THREAD_BELOW,
    ThreadChoice,
    choose_threads,
    largest_product,
    thread_limit,
)


def blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


@pytest.fixture
def no_thread_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in threads.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_largest_product_is_the_widest_layer_times_the_batch() -> None:
    assert largest_product((64, 32, 10), 64) == 64 * 64 * 32
    assert largest_product((784, 256, 10), 512) == 512 * 784 * 256
    assert largest_product((10, 100, 1000, 3), 2) == 2 * 100 * 1000


@pytest.mark.usefixtures("no_thread_variables")
def test_small_products_get_one_thread_and_large_ones_every_usable_core(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "usable_cores", lambda: 6)
    assert choose_threads((64, 32, 10), 64) == ThreadChoice(1, "policy")
    wide = (SINGLE_THREAD_BELOW, 1, 2)  # largest product = SINGLE_THREAD_BELOW at batch 1
    assert choose_threads(wide, 1) == ThreadChoice(6, "policy")


@pytest.mark.usefixtures("no_thread_variables")
def test_an_explicit_count_wins_over_the_policy_and_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert choose_threads((64, 32, 10), 64, np.int64(3), "--threads") == ThreadChoice(
        3, "--threads")
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert choose_threads((64, 32, 10), 64, 2).count == 2


@pytest.mark.parametrize("name", threads.THREAD_VARIABLES)
def test_a_thread_variable_in_the_environment_leaves_the_libraries_alone(
        monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    for other in threads.THREAD_VARIABLES:
        monkeypatch.delenv(other, raising=False)
    monkeypatch.setenv(name, "2")
    choice = choose_threads((64, 32, 10), 64)
    assert choice == ThreadChoice(None, f"{name}=2")
    before = (torch.get_num_threads(), blas_threads())
    with thread_limit(choice):
        assert (torch.get_num_threads(), blas_threads()) == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_counts_are_refused_in_one_line(bad: object) -> None:
    with pytest.raises(TwinMLPError, match="expected a positive integer"):
        choose_threads((64, 32, 10), 64, bad)


def test_the_limit_is_scoped_for_both_libraries() -> None:
    before_torch, before_blas = torch.get_num_threads(), blas_threads()
    with thread_limit(ThreadChoice(1, "policy")):
        assert torch.get_num_threads() == 1
        assert set(blas_threads()) == {1}
    assert torch.get_num_threads() == before_torch
    assert blas_threads() == before_blas


def test_the_limit_is_restored_when_the_body_raises() -> None:
    before_torch, before_blas = torch.get_num_threads(), blas_threads()
    with pytest.raises(RuntimeError), thread_limit(ThreadChoice(1, "policy")):
        raise RuntimeError("inside")
    assert (torch.get_num_threads(), blas_threads()) == (before_torch, before_blas)


def test_usable_cores_follows_the_affinity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(threads, "_cgroup_quota", lambda: None)
    assert threads.usable_cores() == 1
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3},
                        raising=False)
    monkeypatch.setattr(threads, "_cgroup_quota", lambda: 2)
    assert threads.usable_cores() == 2


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_fit_applies_the_policy_inside_and_restores_the_counts_after(
        backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from twinmlp.shared.config import ModelConfig
    from twinmlp.twins import make_twin

    for name in threads.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    model = make_twin(backend, ModelConfig((8, 6, 3), dtype="float64"), "cpu")
    seen: list[tuple[int, list[int]]] = []
    X = np.random.default_rng(0).standard_normal((40, 8))
    y = np.arange(40) % 3
    before = (torch.get_num_threads(), blas_threads())
    history = model.fit(X, y, epochs=2, batch_size=8, verbose=False,
                        on_epoch_end=lambda state: seen.append(
                            (torch.get_num_threads(), blas_threads())))
    assert seen == [(1, [1] * len(before[1]))] * 2  # an 8-6-3 net: one thread
    assert history.threads == "1 thread (policy)"
    assert (torch.get_num_threads(), blas_threads()) == before
    history = model.fit(X, y, epochs=1, batch_size=8, verbose=False, threads=np.int64(2))
    assert history.threads == "2 threads (threads=)"
    assert (torch.get_num_threads(), blas_threads()) == before


def test_the_wrapper_passes_threads_through(monkeypatch: pytest.MonkeyPatch) -> None:
    from twinmlp.shared import model as shared_model
    from twinmlp.sklearn import TwinMLPClassifier

    asked: list[object] = []

    def recording_choice(layer_sizes: object, batch_size: int, threads: object = None,
                         source: str = "threads=") -> ThreadChoice:
        asked.append(threads)
        return choose_threads(layer_sizes, batch_size, threads, source)

    monkeypatch.setattr(shared_model, "choose_threads", recording_choice)
    X = np.random.default_rng(0).standard_normal((30, 4))
    y = np.arange(30) % 2
    before = torch.get_num_threads()
    TwinMLPClassifier(backend="torch", hidden_layer_sizes=(5,), epochs=1,
                      threads=np.int64(1)).fit(X, y)
    assert asked == [1] and torch.get_num_threads() == before
    with pytest.raises(TwinMLPError, match="threads = 0"):
        TwinMLPClassifier(hidden_layer_sizes=(5,), epochs=1, threads=0).fit(X, y)
