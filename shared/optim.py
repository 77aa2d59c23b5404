"""What the twins' optimizers share that is not arithmetic (MATH.md §6, §7, §11).

:class:`OptimizerBase` keeps the learning rate, the decay coefficient and the state dict,
and couples the L2 term into a weight's gradient; each twin's ``optim.py`` subclasses it
with the update arithmetic and the conversions of its state. :func:`build` makes the
optimizer called ``name`` from a twin's registry ``OPTIMIZERS``, as activations are looked
up in ``ACTIVATIONS``.
"""

from __future__ import annotations

from typing import Any

from twinmlp.shared.errors import TwinMLPError

#: What a registry entry is: the class, and the options that the name fixes.
RegistryEntry = tuple[type, dict[str, Any]]


def is_weight(name: str) -> bool:
    """Whether the parameter ``name`` is decayed: weights ``W…`` are, biases never (§6)."""
    return name.startswith("W")


class OptimizerBase:
    """Learning rate ``η``, decay coefficient ``δ = λ/N`` (MATH.md §6) and the state, a dict
    keyed like the parameters (``W1.exp_avg``, …, and ``step``). A subclass names the
    constructor options it reads in :attr:`OPTIONS`."""

    OPTIONS: tuple[str, ...] = ()

    def __init__(self, lr: float, weight_decay: float = 0.0) -> None:
        self.lr = lr
        self.weight_decay = weight_decay
        self.state: dict[str, Any] = {}
        # Work arrays a twin keeps so that a step allocates nothing, keyed by what they
        # hold ("W1.coupled", "W1.step"): one writer each.
        self._scratch: dict[str, Any] = {}

    def step(self, params: dict[str, Any], grads: dict[str, Any]) -> None:
        """Update ``params`` in place from ``grads``."""
        raise NotImplementedError

    def _coupled(self, name: str, param: Any, grad: Any) -> Any:
        """``g + δ W`` for weights, ``g`` for biases (MATH.md §6); a weight's is formed in
        its work array ``"{name}.coupled"``, which nothing else writes."""
        if self.weight_decay and is_weight(name):
            coupled = self._scaled(f"{name}.coupled", param, self.weight_decay)
            coupled += grad
            return coupled
        return grad

    def _scaled(self, key: str, value: Any, factor: float) -> Any:
        """``value · factor`` in the work array ``key`` (made on first use), which is
        overwritten: ``value`` must not be that array."""
        raise NotImplementedError


def build(registry: dict[str, RegistryEntry], name: str, lr: float, weight_decay: float,
          **options: Any) -> Any:
    """The optimizer called ``name`` in a twin's ``registry``, given the options that its
    class reads (the rest of ``options`` is for other optimizers)."""
    if name not in registry:
        raise TwinMLPError(f"optimizer = {name!r} is not allowed: expected one of "
                           f"{', '.join(registry)}")
    cls, fixed = registry[name]
    offered = {**options, **fixed}
    return cls(lr, weight_decay, **{key: offered[key] for key in cls.OPTIONS if key in offered})
