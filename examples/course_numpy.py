"""The course-notebook style in NumPy: attributes W1, b1, W2, b2, forward(X) returning
probabilities, backward(X, y) applying one SGD step with L2 in place.

    twinmlp check examples/course_numpy.py
"""

import numpy as np


class MLP:
    def __init__(self, input_size, hidden_size, output_size, learning_rate=0.01,
                 weight_decay=0.0, alpha=0.01):
        rng = np.random.default_rng(0)
        self.W1 = rng.normal(0, np.sqrt(2 / input_size), (input_size, hidden_size))
        self.b1 = np.zeros((1, hidden_size))
        self.W2 = rng.normal(0, np.sqrt(2 / hidden_size), (hidden_size, output_size))
        self.b2 = np.zeros((1, output_size))
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.alpha = alpha
        self.n_train = None  # the training-set size N of the L2 term λ/N

    def forward(self, X):
        self.Z1 = X @ self.W1 + self.b1
        self.A1 = np.where(self.Z1 > 0, self.Z1, self.alpha * self.Z1)
        self.Z2 = self.A1 @ self.W2 + self.b2
        E = np.exp(self.Z2 - self.Z2.max(axis=1, keepdims=True))
        self.A2 = E / E.sum(axis=1, keepdims=True)
        return self.A2

    def backward(self, X, y):
        n = X.shape[0]
        Y = np.eye(self.A2.shape[1])[y]
        decay = self.weight_decay / (self.n_train or n)
        dZ2 = (self.A2 - Y) / n
        dW2 = self.A1.T @ dZ2 + decay * self.W2
        db2 = dZ2.sum(axis=0, keepdims=True)
        dZ1 = (dZ2 @ self.W2.T) * np.where(self.Z1 > 0, 1.0, self.alpha)
        dW1 = X.T @ dZ1 + decay * self.W1
        db1 = dZ1.sum(axis=0, keepdims=True)
        self.W2 -= self.learning_rate * dW2
        self.b2 -= self.learning_rate * db2
        self.W1 -= self.learning_rate * dW1
        self.b1 -= self.learning_rate * db1
