"""Minibatch (stochastic-gradient) views of the gallery's full-batch objectives.

The schedule claims are about SGD: with exact gradients every decaying schedule
reaches the minimiser of a convex problem and the comparison says nothing. These
wrappers draw a seeded minibatch (with replacement) at every evaluation, so an
optimizer of :mod:`workbench.optim` runs as SGD; ``full_loss(x)`` is the
full-batch training loss used to compare the final iterates.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit

from workbench.problems.objectives import Objective


class Minibatch(Objective):
    """Stochastic gradients of ``base`` from minibatches of ``batch_size`` points."""

    def __init__(self, base, batch_size: int, seed: int):
        super().__init__(base.x0, x_star=base.x_star, f_star=base.f_star,
                         name=f"{base.name} (batch {batch_size})", properties=base.properties,
                         metadata=base.metadata)
        self.base = base
        self.batch_size = int(batch_size)
        self.rng = np.random.default_rng(seed)

    def _indices(self, n):
        return self.rng.integers(0, n, self.batch_size)

    def evaluate(self, x):
        f, g = self.value_and_grad(x)
        return f, g, {}

    def full_loss(self, x) -> float:
        return float(self.base.value(x))


class MinibatchLogistic(Minibatch):
    def value_and_grad(self, w):
        base = self.base
        S = base.signed_features[self._indices(base.n_samples)]
        m = S @ w
        f = float(np.mean(np.logaddexp(0.0, -m))) + 0.5 * base.l2 * float(w @ w)
        g = -(S.T @ expit(-m)) / len(m) + base.l2 * w
        return f, g


class MinibatchMLP(Minibatch):
    def value_and_grad(self, x):
        import torch
        import torch.nn.functional as F

        base = self.base
        idx = torch.as_tensor(self._indices(len(base.targets)))
        flat = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        loss = F.cross_entropy(base._forward(flat, base.inputs[idx]), base.targets[idx])
        (g,) = torch.autograd.grad(loss, flat)
        return float(loss.detach()), g.numpy()


def minibatch(base, batch_size: int, seed: int) -> Minibatch:
    cls = MinibatchMLP if getattr(base, "backend", "numpy") == "torch" else MinibatchLogistic
    return cls(base, batch_size, seed)
