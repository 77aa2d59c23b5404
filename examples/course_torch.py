"""The course-notebook style on torch tensors (CPU, float32, no autograd): W1, b1, … as
tensors, biases (1, d), one-hot labels, and backward(X, Y, lr) taking the rate.

    twinmlp check examples/course_torch.py

The check finds the rate argument, tries integer labels, falls back to one-hot rows, sets
the training-set size N it finds, and runs the float32 tiers in the class's own dtype."""

import torch


class TorchMLP:
    def __init__(self, layer_sizes):
        g = torch.Generator().manual_seed(0)
        self.L = len(layer_sizes) - 1
        for l in range(1, self.L + 1):
            fan_in, fan_out = layer_sizes[l - 1], layer_sizes[l]
            setattr(self, f"W{l}", torch.randn(fan_in, fan_out, generator=g)
                    * (2 / fan_in) ** 0.5)
            setattr(self, f"b{l}", torch.zeros(1, fan_out))
        self.weight_decay = 0.0
        self.N = 1
        self.alpha = 0.01

    def forward(self, X):
        self.cache = [X]
        a = X
        for l in range(1, self.L + 1):
            z = a @ getattr(self, f"W{l}") + getattr(self, f"b{l}")
            a = torch.where(z > 0, z, self.alpha * z) if l < self.L else torch.softmax(z, 1)
            self.cache += [z, a]
        return a

    def backward(self, X, Y, lr):
        n = X.shape[0]
        G = (self.cache[-1] - Y) / n
        for l in range(self.L, 0, -1):
            A_prev = self.cache[2 * l - 2]
            W, b = getattr(self, f"W{l}"), getattr(self, f"b{l}")
            dW = A_prev.T @ G + self.weight_decay / self.N * W
            db = G.sum(0, keepdim=True)
            if l > 1:
                z = self.cache[2 * l - 3]
                slope = torch.where(z > 0, torch.ones_like(z), torch.full_like(z, self.alpha))
                G = (G @ W.T) * slope
            setattr(self, f"W{l}", W - lr * dW)
            setattr(self, f"b{l}", b - lr * db)
