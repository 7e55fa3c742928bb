"""The objective protocol: a differentiable function ``f: R^d -> R`` as a problem.

Every optimizer in :mod:`workbench.optim` works on a flat float64 vector ``x``;
an :class:`Objective` supplies ``value``, ``grad``, ``value_and_grad`` and,
where cheap, ``hvp`` (Hessian-vector product). Objectives that know more about
themselves (a classifier's misclassification count, a matrix-sensing recovery
error, a network's accuracy) report it through :meth:`Objective.extra_metrics`,
which the optimizers merge into their metrics.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ...core import InvalidParameter, InvalidProblem, Problem

__all__ = ["Objective", "from_functions"]


class Objective(Problem):
    """A smooth (or at least differentiable almost everywhere) objective.

    Attributes
    ----------
    dim : int
        Number of variables.
    x0 : numpy.ndarray
        Starting point (float64, length ``dim``); optimizers copy it.
    x_star, f_star : numpy.ndarray or None, float or None
        A minimiser and the optimal value when known (``f_star`` may be an
        infimum that is not attained, e.g. 0 for separable logistic regression).
    blocks : list of (name, shape)
        How ``x`` splits into named parameter tensors (row-major); Shampoo uses
        the shapes. Default: one vector block.
    backend : str
        ``"numpy"``; ``"torch"`` for objectives computed by a torch module (they
        still take and return numpy float64 vectors).
    """

    kind = "objective"
    backend = "numpy"

    def __init__(self, x0, *, x_star=None, f_star=None, name="custom", properties=(),
                 metadata=None, blocks=None, spec=None):
        super().__init__(name=name, properties=properties, metadata=metadata, spec=spec)
        try:
            x0 = np.asarray(x0, dtype=float).reshape(-1).copy()
        except (TypeError, ValueError):
            raise InvalidProblem(f"x0 must be a numeric vector, got {x0!r}.") from None
        if x0.size == 0:
            raise InvalidProblem("the objective has no variables; give x0 with at least one entry.")
        if not np.all(np.isfinite(x0)):
            raise InvalidProblem("x0 contains NaN or infinite entries.")
        self.x0 = x0
        try:
            self.x_star = None if x_star is None else np.asarray(x_star, dtype=float).reshape(-1)
            self.f_star = None if f_star is None else float(f_star)
        except (TypeError, ValueError):
            raise InvalidProblem("x_star must be a numeric vector and f_star a number (or leave them unset).") from None
        if self.x_star is not None and self.x_star.shape != x0.shape:
            raise InvalidProblem(f"x_star has {self.x_star.size} entries but x0 has {x0.size}.")
        if (self.x_star is not None and not np.all(np.isfinite(self.x_star))) or (
                self.f_star is not None and not math.isfinite(self.f_star)):
            raise InvalidProblem("x_star and f_star must be finite (or leave them unset).")
        self.blocks = list(blocks) if blocks else [("x", (x0.size,))]
        if sum(int(np.prod(s)) for _, s in self.blocks) != x0.size:
            raise InvalidProblem("the parameter blocks do not add up to the length of x0.")

    @property
    def dim(self) -> int:
        return self.x0.size

    def check_built(self) -> None:
        """Refuse a start where the objective is not finite: a factory accepts a start such as
        [1e308, -1e308], and every method would fail on it (a dashboard's lanes with it)."""
        try:
            value = float(self.value(self.x0))
        except Exception as exc:
            from ...core.errors import error_sentence

            raise InvalidProblem(f"the objective cannot be evaluated at the start ({error_sentence(exc)}); "
                                 "choose another start.") from None
        if not math.isfinite(value):
            raise InvalidProblem(f"the objective is {value} at the start; choose a start where it is finite "
                                 "(smaller entries).")

    # -- what subclasses implement ------------------------------------------
    def value(self, x) -> float:
        return self.value_and_grad(x)[0]

    def grad(self, x) -> np.ndarray:
        return self.value_and_grad(x)[1]

    def value_and_grad(self, x) -> tuple[float, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def hvp(self, x, v) -> np.ndarray:
        """Hessian-vector product; objectives that have a cheap one override this."""
        raise NotImplementedError(f"{self.name} has no Hessian-vector product.")

    @property
    def has_hvp(self) -> bool:
        return type(self).hvp is not Objective.hvp

    def hessian(self, x) -> np.ndarray:
        """The dense Hessian at ``x``, one Hessian-vector product per column, symmetrised.

        Objectives that know their Hessian in closed form (quadratics, logistic
        regression) override this; the default costs ``dim`` products.
        """
        x = np.asarray(x, dtype=float)
        eye = np.eye(self.dim)
        H = np.column_stack([self.hvp(x, eye[:, j]) for j in range(self.dim)])
        # The products are exact up to rounding, which can leave H slightly unsymmetric
        # and a Cholesky or eigh of it would then describe neither triangle.
        return 0.5 * (H + H.T)

    def extra_metrics(self, x) -> dict[str, float]:
        """Objective-specific diagnostics of ``x`` (merged into the optimizer's metrics)."""
        return {}

    def evaluate(self, x) -> tuple[float, np.ndarray, dict]:
        """``(f(x), grad f(x), extra_metrics(x))`` in one call.

        Objectives whose extras reuse intermediate results of the gradient
        (e.g. the margins of a classifier) override this to avoid a second pass.
        """
        f, g = self.value_and_grad(x)
        return f, g, self.extra_metrics(x)

    # -- helpers -------------------------------------------------------------
    def unflatten(self, x) -> dict[str, np.ndarray]:
        """Split a flat vector into the named blocks (views, not copies)."""
        out, i = {}, 0
        for name, shape in self.blocks:
            size = int(np.prod(shape))
            out[name] = x[i:i + size].reshape(shape)
            i += size
        return out

    def describe(self) -> str:
        return f"{self.name}: {self.dim} variables"


class FunctionObjective(Objective):
    """An objective from user-supplied callables (see :func:`from_functions`)."""

    def __init__(self, f, grad, x0, hvp=None, **kw):
        super().__init__(x0, **kw)
        if not (callable(f) and callable(grad)):
            raise InvalidProblem("f and grad must be functions of x (a numpy vector).")
        self._f, self._g, self._hvp = f, grad, hvp
        # One evaluation at x0 now, so a wrong shape is a sentence here, not a run that fails later.
        try:
            raw = f(self.x0)
            g = np.asarray(grad(self.x0), dtype=float)
        except Exception as exc:
            raise InvalidProblem(f"f or grad failed at x0: {type(exc).__name__}: {exc}") from None
        if np.ndim(raw) and np.size(raw) != 1:
            raise InvalidProblem(f"f must return a number; at x0 it returned an array of shape {np.shape(raw)}.")
        self._number(raw, "at x0")
        if g.size != self.x0.size:
            raise InvalidProblem(f"grad must return a vector the shape of x0 ({self.x0.size} entries); at x0 "
                                 f"it returned shape {g.shape}.")

    @staticmethod
    def _number(value, where: str) -> float:
        # (np.asarray(None, dtype=float) is NaN and float(None) a TypeError: neither says what is wrong)
        arr = np.asarray(value)
        if arr.dtype.kind not in "iuf" or arr.size != 1:
            raise InvalidProblem(f"f must return a number; {where} it returned {value!r}.")
        return float(arr.reshape(()))

    def value(self, x):
        return self._number(self._f(x), "at this x")

    def grad(self, x):
        return np.asarray(self._g(x), dtype=float).reshape(-1)

    def value_and_grad(self, x):
        return self.value(x), self.grad(x)

    def hvp(self, x, v):
        if self._hvp is None:
            return Objective.hvp(self, x, v)
        return np.asarray(self._hvp(x, v), dtype=float).reshape(-1)

    @property
    def has_hvp(self) -> bool:
        return self._hvp is not None


def from_functions(f: Callable, grad: Callable, x0, *, hvp: Callable | None = None,
                   x_star=None, f_star=None, name: str = "custom") -> Objective:
    """Wrap your own function and gradient as an objective.

    Examples
    --------
    >>> import numpy as np, workbench as wb
    >>> obj = wb.problems.from_functions(lambda x: x @ x, lambda x: 2 * x, x0=[1.0, -2.0],
    ...                                  x_star=[0.0, 0.0], f_star=0.0)
    >>> res = wb.run(wb.optim.GD(lr=0.25), obj, max_steps=20)
    >>> res.final["loss"] < 1e-10
    True
    """
    if not callable(f) or not callable(grad):
        raise InvalidParameter("f and grad must be callables taking a numpy vector.")
    obj = FunctionObjective(f, grad, x0, hvp=hvp, x_star=x_star, f_star=f_star, name=name)
    g0 = obj.grad(obj.x0)
    if g0.shape != obj.x0.shape:
        raise InvalidProblem(f"grad(x0) has shape {g0.shape} but x0 has shape {obj.x0.shape}.")
    return obj
