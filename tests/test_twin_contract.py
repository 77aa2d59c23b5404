"""The twin contract in code: ``TwinMLP`` declares abstract every method a twin supplies,
Python refuses a twin that misses one, and the trainer's ``Trainable`` protocol and the
base class cannot disagree."""

from __future__ import annotations

import inspect

import pytest

from twinmlp import numpy_impl, torch_impl
from twinmlp.shared.config import ModelConfig
from twinmlp.shared.model import TwinMLP
from twinmlp.shared.trainer import Trainable

#: What each twin supplies: the arithmetic, the trainer's array-side calls, conversions.
CONTRACT = {"forward_pass", "backward_pass", "train_step", "prepare_order", "read_scalars",
            "all_finite", "weight_norm_sq", "state_dict", "load_state_dict", "numerics",
            "_dropout_masks", "_to_backend", "_labels_to_backend", "_column_major"}
TWINS = [numpy_impl.MLP, torch_impl.MLP]


def protocol_methods() -> list[str]:
    return [name for name, value in vars(Trainable).items()
            if inspect.isfunction(value) and not name.startswith("_")]


def test_the_contract_is_the_abstract_group() -> None:
    assert TwinMLP.__abstractmethods__ == CONTRACT
    for name in CONTRACT:
        assert inspect.getdoc(getattr(TwinMLP, name)), f"{name} is undocumented"


@pytest.mark.parametrize("twin", TWINS, ids=["numpy", "torch"])
def test_each_twin_supplies_the_whole_contract_itself(twin: type[TwinMLP]) -> None:
    assert twin.__abstractmethods__ == frozenset()
    assert CONTRACT <= set(vars(twin)), sorted(CONTRACT - set(vars(twin)))
    for name in CONTRACT:  # same parameters as the contract declares
        ours = inspect.signature(getattr(twin, name)).parameters
        declared = inspect.signature(getattr(TwinMLP, name)).parameters
        assert [(p.name, p.kind, p.default) for p in ours.values()] == [
            (p.name, p.kind, p.default) for p in declared.values()], name


@pytest.mark.parametrize("missing", sorted(CONTRACT))
def test_a_twin_missing_one_method_cannot_be_made(missing: str) -> None:
    body = {name: getattr(numpy_impl.MLP, name) for name in CONTRACT - {missing}}
    partial = type("PartialMLP", (TwinMLP,), {**body, "backend": "numpy",
                                                "functional": numpy_impl.functional,
                                                "optim": numpy_impl.optim})
    with pytest.raises(TypeError, match=missing):
        partial(ModelConfig((3, 2)))
    complete = type("CompleteMLP", (TwinMLP,), {**body, missing: getattr(numpy_impl.MLP,
                                                                         missing)})
    assert complete.__new__(complete) is not None


def test_every_protocol_member_is_declared_on_the_base_with_its_signature() -> None:
    """``Trainable`` (what the loop calls) and ``TwinMLP`` (what a twin is) name the same
    methods with the same parameters and types, and the same attributes."""
    for name in protocol_methods():
        assert hasattr(TwinMLP, name), f"TwinMLP lacks the protocol's {name}"
        assert (inspect.signature(getattr(Trainable, name), eval_str=True)
                == inspect.signature(getattr(TwinMLP, name), eval_str=True)), name
    for attribute, kind in inspect.get_annotations(Trainable).items():
        assert inspect.get_annotations(TwinMLP).get(attribute) == kind, attribute


def test_the_protocol_covers_every_contract_method_the_loop_calls() -> None:
    """The contract's public methods are the protocol's array-side part."""
    public = {name for name in CONTRACT if not name.startswith("_")}
    assert public - {"forward_pass", "backward_pass"} <= set(protocol_methods())


@pytest.mark.parametrize("make", [
    lambda: numpy_impl.DataParallelMLP(numpy_impl.MLP([3, 4, 2])),
], ids=["numpy"])
def test_the_data_parallel_model_offers_the_whole_protocol(make) -> None:
    model = make()
    for name in [*protocol_methods(), *inspect.get_annotations(Trainable)]:
        assert hasattr(model, name), name
