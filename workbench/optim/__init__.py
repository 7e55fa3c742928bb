"""Optimizers: first-order (GD, heavy ball, Nesterov, normalized GD, batch perceptron),
adaptive (Adam/AdamW, Adan, Lion, diffGrad, Shampoo), schedule-free (SGD, AdamW) and
distance-based / learning-rate-free (theory step, DoG, D-Adaptation, Prodigy) and
second-order (damped Newton, lazy-Hessian cubic Newton, FOSI, M-FAC) and polynomially
preconditioned gradient methods (symmetric-polynomial or Chebyshev preconditioners, Krylov search).

Every optimizer is a :class:`~workbench.optim.base.Optimizer`: the step size at step
``t`` is ``lr * schedule(t, horizon)``; metrics include ``loss``, ``grad_norm``,
``lr`` and, when the objective knows its minimiser, ``distance``.
"""
import importlib as _importlib

from .base import Optimizer, OptimizerState
from .gd import GD
from .adam import Adam, AdamW

__all__ = ["Optimizer", "OptimizerState", "GD", "Adam", "AdamW"]

#: One module per method; each is optional while the family grows.
_MODULES = {
    "heavy_ball": ["HeavyBall"], "nesterov": ["Nesterov"], "normalized_gd": ["NormalizedGD"],
    "perceptron": ["BatchPerceptron"], "adan": ["Adan"], "lion": ["Lion"], "diffgrad": ["DiffGrad"],
    "shampoo": ["Shampoo"], "schedule_free": ["ScheduleFreeSGD", "ScheduleFreeAdamW"],
    "theory_step": ["TheoryStep"], "dog": ["DoG"], "d_adaptation": ["DAdaptation"],
    "prodigy": ["Prodigy"], "newton": ["DampedNewton"], "lazy_newton": ["LazyNewton"], "fosi": ["FOSI"],
    "mfac": ["MFAC"], "polynomial_preconditioning": ["PolynomialPreconditionedGD"],
}
for _mod, _names in _MODULES.items():
    try:
        _module = _importlib.import_module(f".{_mod}", __name__)
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{__name__}.{_mod}":
            raise
        continue
    for _n in _names:
        globals()[_n] = getattr(_module, _n)
        __all__.append(_n)
