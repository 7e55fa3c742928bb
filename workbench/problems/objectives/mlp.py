"""A small multilayer perceptron on scikit-learn's digits, computed by torch.

The optimizers of :mod:`workbench.optim` work on flat numpy vectors, so this
objective flattens the network's parameters: ``value_and_grad(x)`` takes the
float64 vector of all weights, runs the network through
``torch.func.functional_call`` with views of that vector, and returns the loss
and the flattened gradient. The whole data set fits in one batch (full-batch
training, deterministic), so traces replay exactly. torch is imported only
when the problem is built.
"""
from __future__ import annotations

import numpy as np
import param

from ...core import ProblemFactory, get_problem, register_problem
from .base import Objective

__all__ = ["MLPDigits", "MLPObjective", "mlp_digits"]


class MLPObjective(Objective):
    """Cross-entropy of an MLP classifier; ``x`` is the flat float64 parameter vector.

    Attributes
    ----------
    module : torch.nn.Module
        The network (its own parameters hold the initial weights ``x0``).
    inputs, targets, test_inputs, test_targets : torch.Tensor
    """

    backend = "torch"

    def __init__(self, module, inputs, targets, test_inputs, test_targets, **kw):
        import torch

        self.module = module
        self.inputs, self.targets = inputs, targets
        self.test_inputs, self.test_targets = test_inputs, test_targets
        self._names = [n for n, _ in module.named_parameters()]
        self._shapes = [tuple(p.shape) for _, p in module.named_parameters()]
        x0 = torch.nn.utils.parameters_to_vector(module.parameters()).detach().cpu().numpy().copy()
        super().__init__(x0, blocks=list(zip(self._names, self._shapes)), **kw)

    def _params(self, flat):
        out, i = {}, 0
        for name, shape in zip(self._names, self._shapes):
            size = int(np.prod(shape))
            out[name] = flat[i:i + size].view(shape)
            i += size
        return out

    def _forward(self, flat, inputs):
        from torch.func import functional_call

        return functional_call(self.module, self._params(flat), (inputs,))

    def _loss_and_logits(self, x, need_grad=True):
        import torch
        import torch.nn.functional as F

        flat = torch.tensor(x, dtype=torch.float64, requires_grad=need_grad)
        logits = self._forward(flat, self.inputs)
        loss = F.cross_entropy(logits, self.targets)
        return flat, loss, logits

    def value_and_grad(self, x):
        import torch

        flat, loss, _ = self._loss_and_logits(x)
        (g,) = torch.autograd.grad(loss, flat)
        return float(loss.detach()), g.numpy()

    def value(self, x):
        import torch

        with torch.no_grad():
            return float(self._loss_and_logits(x, need_grad=False)[1])

    def hvp(self, x, v):
        import torch

        flat, loss, _ = self._loss_and_logits(x)
        (g,) = torch.autograd.grad(loss, flat, create_graph=True)
        (hv,) = torch.autograd.grad(g @ torch.as_tensor(v, dtype=torch.float64), flat)
        return hv.numpy()

    def _test_accuracy(self, x):
        import torch

        with torch.no_grad():
            logits = self._forward(torch.as_tensor(x, dtype=torch.float64), self.test_inputs)
            return float((logits.argmax(1) == self.test_targets).double().mean())

    def extra_metrics(self, x):
        import torch

        with torch.no_grad():
            _, _, logits = self._loss_and_logits(x, need_grad=False)
        return {"train_accuracy": float((logits.argmax(1) == self.targets).double().mean()),
                "test_accuracy": self._test_accuracy(x)}

    def evaluate(self, x):
        import torch

        flat, loss, logits = self._loss_and_logits(x)
        (g,) = torch.autograd.grad(loss, flat)
        train_acc = float((logits.detach().argmax(1) == self.targets).double().mean())
        return float(loss.detach()), g.numpy(), {"train_accuracy": train_acc, "test_accuracy": self._test_accuracy(x)}


@register_problem("mlp_digits")
class MLPDigits(ProblemFactory):
    """Full-batch training of a small MLP on scikit-learn's 8x8 digits (1797 images, 10 classes).

    Pixels are scaled to [0, 1]; a seeded 80/20 split gives the test set. The
    network is ``64 -> width -> ... -> 10`` with ``depth`` hidden layers, in
    float64 (the data set is small; float64 keeps optimizer comparisons exact).
    Metrics add ``train_accuracy`` and ``test_accuracy``.
    """

    problem_kind = "objective"
    width = param.Integer(default=32, bounds=(1, 4096), doc="Units per hidden layer.")
    depth = param.Integer(default=1, bounds=(1, 8), doc="Number of hidden layers.")
    activation = param.Selector(default="relu", objects=["relu", "tanh", "gelu"], doc="Hidden activation.")
    n_train = param.Integer(default=None, allow_None=True, bounds=(10, None),
                            doc="Use only this many training images (default: all of the 80 %).")
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of the split and the initial weights.")

    def build(self):
        import torch
        from sklearn.datasets import load_digits

        X, t = load_digits(return_X_y=True)
        rng = np.random.default_rng(self.seed)
        perm = rng.permutation(len(t))
        n_test = len(t) // 5
        test, train = perm[:n_test], perm[n_test:]
        if self.n_train is not None:
            train = train[: self.n_train]
        X = X / 16.0
        act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "gelu": torch.nn.GELU}[self.activation]
        gen_state = torch.random.get_rng_state()
        torch.manual_seed(self.seed)
        layers, width_in = [], 64
        for _ in range(self.depth):
            layers += [torch.nn.Linear(width_in, self.width), act()]
            width_in = self.width
        layers.append(torch.nn.Linear(width_in, 10))
        module = torch.nn.Sequential(*layers).double()
        torch.random.set_rng_state(gen_state)  # leave the caller's torch RNG as it was
        as_t = lambda a, dt: torch.as_tensor(a, dtype=dt)  # noqa: E731
        return MLPObjective(module, as_t(X[train], torch.float64), as_t(t[train], torch.long),
                            as_t(X[test], torch.float64), as_t(t[test], torch.long),
                            f_star=None, name=f"mlp_digits(width={self.width}, depth={self.depth})",
                            properties={"nonconvex", "neural"},
                            metadata={"n_train": len(train), "n_test": n_test})


def mlp_digits(width: int = 32, depth: int = 1, **kw):
    return get_problem("mlp_digits", width=width, depth=depth, **kw)
