"""The explicit protocol: get_params()/set_params() in MATH.md's names and layout,
forward(X) returning probabilities, gradients(X, y) without L2 and step(X, y) with it.
Any depth and activation; here a make_model factory and tanh.

    twinmlp check examples/explicit_protocol.py --layers 64,48,24,10 --activation tanh
"""

import numpy as np


class Network:
    def __init__(self, layer_sizes):
        rng = np.random.default_rng(0)
        self.params = {}
        for l in range(1, len(layer_sizes)):
            fan_in, fan_out = layer_sizes[l - 1], layer_sizes[l]
            self.params[f"W{l}"] = rng.normal(0, np.sqrt(2 / fan_in), (fan_in, fan_out))
            self.params[f"b{l}"] = np.zeros(fan_out)
        self.L = len(layer_sizes) - 1
        self.lr, self.weight_decay, self.n_train = 0.01, 0.0, 1

    def get_params(self):
        return self.params

    def set_params(self, params):
        self.params = {name: np.array(value) for name, value in params.items()}

    def _forward(self, X):
        A, Z = [X], [None]
        for l in range(1, self.L + 1):
            Z.append(A[-1] @ self.params[f"W{l}"] + self.params[f"b{l}"])
            if l < self.L:
                A.append(np.tanh(Z[-1]))
            else:
                E = np.exp(Z[-1] - Z[-1].max(axis=1, keepdims=True))
                A.append(E / E.sum(axis=1, keepdims=True))
        return A

    def forward(self, X):
        return self._forward(X)[-1]

    def gradients(self, X, y):
        A = self._forward(X)
        G = A[-1].copy()
        G[np.arange(len(y)), y] -= 1
        G /= len(y)
        grads = {}
        for l in range(self.L, 0, -1):
            grads[f"W{l}"], grads[f"b{l}"] = A[l - 1].T @ G, G.sum(axis=0)
            if l > 1:
                G = (G @ self.params[f"W{l}"].T) * (1 - A[l - 1] ** 2)
        return grads

    def step(self, X, y):
        grads = self.gradients(X, y)
        for name, value in self.params.items():
            g = grads[name] + (self.weight_decay / self.n_train * value if name[0] == "W"
                               else 0)
            self.params[name] = value - self.lr * g


def make_model(layer_sizes):
    return Network(layer_sizes)
