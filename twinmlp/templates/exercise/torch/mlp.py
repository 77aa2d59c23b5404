"""The course exercise: a multilayer perceptron on torch tensors, with no autograd and no
torch.nn. Fill in forward and backward.

When you are done, hold it to the reference:

    twinmlp check mlp.py

(the formulas: MATH.md §1-§7 of twinmlp, installed as twinmlp/shared/MATH.md)
"""

import torch


class MLP:
    def __init__(self, layer_sizes, learning_rate=0.01, weight_decay=0.0, alpha=0.01, seed=0):
        generator = torch.Generator().manual_seed(seed)
        self.L = len(layer_sizes) - 1
        for l in range(1, self.L + 1):
            fan_in, fan_out = layer_sizes[l - 1], layer_sizes[l]
            # He initialisation; weights (fan_in, fan_out), biases (fan_out,)
            W = torch.randn(fan_in, fan_out, generator=generator) * (2.0 / fan_in) ** 0.5
            setattr(self, f"W{l}", W)
            setattr(self, f"b{l}", torch.zeros(fan_out))
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay  # λ: the L2 term is λ/(2N)·Σ‖W‖²
        self.alpha = alpha  # the leaky-ReLU slope
        self.n_train = None  # N, the training-set size, set by the training loop

    def forward(self, X):
        """Return the class probabilities P, shape (n, k), and keep what backward needs.

        Hidden layers: Z = A_prev @ W + b, A = leaky_relu(Z); output: softmax(Z) with the
        row maximum subtracted."""
        # TODO
        raise NotImplementedError("forward is yours to write")

    def backward(self, X, y):
        """One SGD step in place on the batch X, y (integer labels), after forward(X).

        The gradient of the mean cross-entropy at the logits is (P − Y)/n; add λ/N·W to
        each weight's gradient (not to the biases); then W ← W − learning_rate·gradient.

        twinmlp check runs this class in float64 too: make every tensor in the dtype of Z,
        e.g. torch.where(Z > 0, torch.ones_like(Z), torch.full_like(Z, alpha)); with Python
        numbers, torch.where(Z > 0, 1.0, alpha) is float32, and so is (Z > 0).float()."""
        # TODO
        raise NotImplementedError("backward is yours to write")

    def predict(self, X):
        return self.forward(X).argmax(dim=1)
