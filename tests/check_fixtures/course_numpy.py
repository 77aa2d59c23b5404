"""A course-notebook-style MLP in NumPy, correct as written; tests plant one mistake by
rewriting the ``MISTAKE`` line (the names are those of docs/check.md's diagnoses)."""

import numpy as np

MISTAKE = ""
ACTIVATION = "leaky_relu"


class MLP:
    def __init__(self, layer_sizes, learning_rate=0.01, weight_decay=0.0, alpha=0.01):
        rng = np.random.default_rng(0)
        self.L = len(layer_sizes) - 1
        for l in range(1, self.L + 1):
            fan_in, fan_out = layer_sizes[l - 1], layer_sizes[l]
            shape = (fan_out, fan_in) if MISTAKE == "transposed-weights" else (fan_in, fan_out)
            setattr(self, f"W{l}", rng.normal(0, np.sqrt(2 / fan_in), shape))
            setattr(self, f"b{l}", np.zeros(fan_out))
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.alpha = alpha
        self.n_train = None  # set by the training loop; the batch size when unset

    def phi(self, z):
        if ACTIVATION == "tanh":
            return np.tanh(z)
        return np.where(z > 0, z, self.alpha * z)

    def phi_prime(self, z, a):
        if ACTIVATION == "tanh":
            if MISTAKE == "derivative-at-activation":
                return 1 - np.tanh(a) ** 2
            return 1 - a ** 2
        slope = 0.1 if MISTAKE == "leaky-slope" else self.alpha
        if MISTAKE == "float32-slope":  # as torch.where(z > 0, 1.0, alpha) does
            slope = np.float32(slope)
        positive = z >= 0 if MISTAKE == "derivative-at-zero" else z > 0
        return np.where(positive, 1.0, slope)

    def softmax(self, z):
        if MISTAKE != "unshifted-softmax":
            z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def forward(self, X):
        self.A0 = X
        a = X
        for l in range(1, self.L + 1):
            W = getattr(self, f"W{l}")
            z = a @ (W.T if MISTAKE == "transposed-weights" else W) + getattr(self, f"b{l}")
            a = self.phi(z) if l < self.L else self.softmax(z)
            setattr(self, f"Z{l}", z)
            setattr(self, f"A{l}", a)
        return a

    def loss(self, X, y):
        P = self.forward(X)
        picked = P[np.arange(len(y)), y]
        if MISTAKE == "log-clip":
            return -np.mean(np.log(picked + 1e-15))
        if MISTAKE == "log-floor":
            return -np.mean(np.log(np.clip(picked, 1e-7, 1.0)))
        if MISTAKE == "log-of-softmax":
            return -np.mean(np.log(picked))
        if MISTAKE == "loss-halved":
            return -np.mean(np.log(picked)) / 2
        z = self.__dict__[f"Z{self.L}"]
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -np.mean(log_p[np.arange(len(y)), y])

    def backward(self, X, y):
        n, k = X.shape[0], self.__dict__[f"A{self.L}"].shape[1]
        if MISTAKE == "labels-not-one-hot":
            Y = y.reshape(-1, 1)
        elif MISTAKE == "labels-off-by-one":
            Y = np.eye(k)[y - 1]
        else:
            Y = np.eye(k)[y]
        G = self.__dict__[f"A{self.L}"] - Y
        if MISTAKE != "sum-instead-of-mean":
            G = G / n
        if MISTAKE == "mean-twice":
            G = G / n
        if MISTAKE == "mean-over-classes":
            G = G / k
        N = self.n_train or n
        if MISTAKE == "l2-by-batch":
            N = n
        decay = self.weight_decay / N
        if MISTAKE == "l2-doubled":
            decay = 2 * decay
        if MISTAKE == "l2-missing":
            decay = 0.0
        if MISTAKE == "l2-not-normalised":
            decay = self.weight_decay
        lr = 0.003 if MISTAKE == "learning-rate-mismatch" else self.learning_rate
        sign = -1 if MISTAKE == "gradient-ascent" else 1
        for l in range(self.L, 0, -1):
            A_prev = X if l == 1 else self.__dict__[f"A{l - 1}"]
            W, b = getattr(self, f"W{l}"), getattr(self, f"b{l}")
            dW = A_prev.T @ G + decay * W
            db = G.sum(axis=0) + (decay * b if MISTAKE == "biases-decayed" else 0)
            if l > 1:
                square = W.shape[0] == W.shape[1]
                back = W if MISTAKE == "transposed-backward" and square else W.T
                G = (G @ back) * self.phi_prime(self.__dict__[f"Z{l - 1}"], A_prev)
            setattr(self, f"W{l}", W - sign * lr * dW)
            if MISTAKE != "biases-not-updated":
                setattr(self, f"b{l}", b - sign * lr * db)
