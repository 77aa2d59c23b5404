"""The course exercise: a multilayer perceptron in NumPy. Fill in forward and backward.

When you are done, hold it to the reference:

    twinmlp check mlp.py

(the formulas: MATH.md §1-§7 of twinmlp, installed as twinmlp/shared/MATH.md)
"""

import numpy as np


class MLP:
    def __init__(self, layer_sizes, learning_rate=0.01, weight_decay=0.0, alpha=0.01, seed=0):
        rng = np.random.default_rng(seed)
        self.L = len(layer_sizes) - 1
        for l in range(1, self.L + 1):
            fan_in, fan_out = layer_sizes[l - 1], layer_sizes[l]
            # He initialisation; weights (fan_in, fan_out), biases (fan_out,)
            setattr(self, f"W{l}", rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)))
            setattr(self, f"b{l}", np.zeros(fan_out))
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
        each weight's gradient (not to the biases); then W ← W − learning_rate·gradient."""
        # TODO
        raise NotImplementedError("backward is yours to write")

    def predict(self, X):
        return self.forward(X).argmax(axis=1)
