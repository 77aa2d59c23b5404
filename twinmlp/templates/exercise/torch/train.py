"""Train the MLP of mlp.py on scikit-learn's digits (given: nothing to fill in here)."""

import numpy as np
import torch
from mlp import MLP
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def load():
    X, y = load_digits(return_X_y=True)
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    X_train, X_val, y_train, y_val = train_test_split(X_rest, y_rest, test_size=0.2,
                                                      random_state=42)
    scaler = StandardScaler().fit(X_train)  # fitted on the training rows only
    return [(torch.tensor(scaler.transform(a), dtype=torch.float32), torch.tensor(b))
            for a, b in ((X_train, y_train), (X_val, y_val), (X_test, y_test))]


def main(epochs=50, batch_size=64, learning_rate=0.05, weight_decay=1e-4):
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = load()
    model = MLP([64, 32, 10], learning_rate=learning_rate, weight_decay=weight_decay)
    model.n_train = len(X_train)
    for epoch in range(epochs):
        order = torch.from_numpy(np.random.default_rng([0, epoch]).permutation(len(X_train)))
        for start in range(0, len(X_train), batch_size):
            rows = order[start:start + batch_size]
            model.forward(X_train[rows])
            model.backward(X_train[rows], y_train[rows])
        accuracy = (model.predict(X_val) == y_val).double().mean()
        print(f"epoch {epoch + 1:3d}: validation accuracy {accuracy:.3f}")
    print(f"test accuracy {(model.predict(X_test) == y_test).double().mean():.3f}")


if __name__ == "__main__":
    main()
