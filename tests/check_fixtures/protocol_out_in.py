"""The explicit protocol with torch.nn.Linear's layout: weights (fan_out, fan_in), and
gradients(X, y) only (the check applies the reference's SGD step to them)."""

import numpy as np


class LinearLayoutMLP:
    def __init__(self, layer_sizes):
        self.params = {}
        for l in range(1, len(layer_sizes)):
            self.params[f"W{l}"] = np.zeros((layer_sizes[l], layer_sizes[l - 1]))
            self.params[f"b{l}"] = np.zeros(layer_sizes[l])
        self.L = len(layer_sizes) - 1

    def get_params(self):
        return self.params

    def set_params(self, params):
        self.params = {name: np.asarray(value) for name, value in params.items()}

    def _forward(self, X):
        A, Z = [X], [None]
        for l in range(1, self.L + 1):
            Z.append(A[-1] @ self.params[f"W{l}"].T + self.params[f"b{l}"])
            if l < self.L:
                A.append(np.where(Z[-1] > 0, Z[-1], 0.01 * Z[-1]))
            else:
                E = np.exp(Z[-1] - Z[-1].max(axis=1, keepdims=True))
                A.append(E / E.sum(axis=1, keepdims=True))
        return A, Z

    def forward(self, X):
        return self._forward(X)[0][-1]

    def gradients(self, X, y):
        A, Z = self._forward(X)
        G = A[-1].copy()
        G[np.arange(len(y)), y] -= 1
        G /= len(y)
        grads = {}
        for l in range(self.L, 0, -1):
            grads[f"W{l}"] = G.T @ A[l - 1]
            grads[f"b{l}"] = G.sum(axis=0)
            if l > 1:
                G = (G @ self.params[f"W{l}"]) * np.where(Z[l - 1] > 0, 1.0, 0.01)
        return grads
