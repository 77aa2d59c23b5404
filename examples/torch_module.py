"""Your own torch.nn model through the explicit protocol, weights in torch.nn.Linear's
(fan_out, fan_in) layout: gradients by autograd, the step by torch.optim.SGD.

    twinmlp check examples/torch_module.py --layout out-in

(`twinmlp check torch-nn` runs the same kind of model built in.)
"""

import torch


class TorchModel:
    def __init__(self, layer_sizes):
        layers = []
        for i in range(len(layer_sizes) - 1):
            layers.append(torch.nn.Linear(layer_sizes[i], layer_sizes[i + 1]))
            if i < len(layer_sizes) - 2:
                layers.append(torch.nn.LeakyReLU(0.01))
        self.net = torch.nn.Sequential(*layers)
        self.linears = [m for m in self.net if isinstance(m, torch.nn.Linear)]
        self.lr, self.weight_decay, self.n_train = 0.01, 0.0, 1
        # L2 as λ/N on the weights only: the biases in a group without decay; made once
        # (a new optimizer per step is slow), its rate and decay set at each step
        self.optimizer = torch.optim.SGD([
            {"params": [m.weight for m in self.linears]},
            {"params": [m.bias for m in self.linears], "weight_decay": 0.0}], lr=self.lr)

    def get_params(self):
        return {f"{kind}{i}": (m.weight if kind == "W" else m.bias).detach()
                for i, m in enumerate(self.linears, 1) for kind in ("W", "b")}

    def set_params(self, params):
        self.net.to(params["W1"].dtype)
        with torch.no_grad():
            for i, m in enumerate(self.linears, 1):
                m.weight.copy_(params[f"W{i}"])
                m.bias.copy_(params[f"b{i}"])

    def forward(self, X):
        with torch.no_grad():
            return torch.softmax(self.net(X), dim=1)

    def gradients(self, X, y):
        self.net.zero_grad()
        torch.nn.functional.cross_entropy(self.net(X), y).backward()
        return {f"{kind}{i}": (m.weight if kind == "W" else m.bias).grad
                for i, m in enumerate(self.linears, 1) for kind in ("W", "b")}

    def step(self, X, y):
        weights, biases = self.optimizer.param_groups
        weights["lr"] = biases["lr"] = self.lr
        weights["weight_decay"] = self.weight_decay / self.n_train
        self.optimizer.zero_grad()
        torch.nn.functional.cross_entropy(self.net(X), y).backward()
        self.optimizer.step()
