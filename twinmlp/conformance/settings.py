"""What a check holds the target to: the network, the step and the conventions mapped."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from twinmlp.shared.config import ModelConfig

#: The clipped logs a loss may take instead of log-softmax, by ``--log-form``.
LOG_FORMS = {"clip": "log(clip(P, ε, 1 − ε))", "add": "log(P + ε)", "floor": "log(max(P, ε))"}


@dataclass(frozen=True)
class Conventions:
    """Choices that legitimately differ from the reference, mapped when declared.

    ``l2_by``: what the L2 coefficient is divided by, ``"train"`` (the training-set size N,
    MATH.md §6) or ``"batch"`` (the batch size, scikit-learn's ``alpha/n_batch``).
    ``log_eps``: the loss takes ``log(clip(P, ε, 1 − ε))`` (scikit-learn), ``log(P + ε)``
    (``log_clip="add"``) or ``log(max(P, ε))`` (``log_clip="floor"``, also
    ``clip(P, ε, 1)``) instead of log-softmax; ``0.0``: ε is the machine epsilon of the
    dtype (scikit-learn's); ``None``: log-softmax.
    """

    l2_by: str = "train"
    log_eps: float | None = None
    log_clip: str = "clip"

    def describe(self) -> list[str]:
        """One line per convention that differs from the reference's."""
        lines = []
        if self.l2_by == "batch":
            lines.append("L2 normalised by the batch size (λ/n_batch), not by the "
                         "training-set size N")
        if self.log_eps is not None:
            form = LOG_FORMS[self.log_clip]
            eps = f"{self.log_eps:.3g}" if self.log_eps else "the dtype's machine epsilon"
            lines.append(f"loss through {form} with ε = {eps}, not log-softmax")
        return lines


@dataclass(frozen=True)
class CheckSettings:
    """The options of ``twinmlp check`` as the engine reads them (JSON-ready)."""

    target: str
    layers: tuple[int, ...] | None = None  # None: inputs, 32, classes of the dataset
    activation: str | None = None  # None: leaky_relu, or the built-in adapter's default
    alpha: float = 0.01
    lr: float = 0.01
    weight_decay: float = 0.1
    dataset: str = "digits"
    dtype: str | None = None  # None: the target's own dtype
    layout: str = "in-out"  # or "out-in": weights stored (fan_out, fan_in)
    conventions: Conventions = field(default_factory=Conventions)
    seed: int = 0
    run_epochs: int = 10
    timeout: float = 60.0

    def model_config(self, n_features: int, n_classes: int) -> ModelConfig:
        """The reference's network (float64, MATH.md §8 initialisation)."""
        sizes = self.layers or (n_features, 32, n_classes)
        return ModelConfig(tuple(sizes), self.activation or "leaky_relu", self.alpha,
                           dtype="float64", seed=self.seed)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckSettings:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["conventions"] = Conventions(**d.get("conventions", {}))
        if d.get("layers") is not None:
            d["layers"] = tuple(d["layers"])
        return cls(**d)
