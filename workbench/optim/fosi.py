"""FOSI: Newton's step in the top-k curvature subspace, a first-order method everywhere else."""
from __future__ import annotations

import math

import numpy as np
import param
import scipy.sparse.linalg

from ..core import IncompatibleProblem, InvalidParameter, InvalidProblem, register_method
from .base import EPS_MAX, Optimizer, check_beta
from .hessian import require_curvature
from .kernels.adam import adam_update_reference

__all__ = ["FOSI"]

BASES = ("gd", "heavy_ball", "adam")


@register_method("fosi", family="optim")
class FOSI(Optimizer):
    r"""First-Order and Second-order Integration (Sivan, Gandelsman, Schuster 2024).

    Every ``update_every`` steps Lanczos (SciPy's ARPACK, on Hessian-vector products)
    estimates the ``rank`` largest eigenpairs :math:`(\lambda_i, v_i)` of the Hessian,
    :math:`V = [v_1 \dots v_k]`. Each step splits the gradient into
    :math:`g_1 = V V^T g` and :math:`g_2 = g - g_1` and moves

    .. math::
        x_{t+1} = x_t - \alpha\, V |\Lambda|^{-1} V^T u_t + s\,(I - V V^T)\, \Delta_t,
        \qquad u_t = \text{momentum}(g_1),

    where :math:`\Delta_t` is the base optimizer's step (``base``: GD, heavy ball or Adam
    with step ``lr``) computed from :math:`g_2` alone, and :math:`s = \mathrm{clip}(\lambda_1
    / \lambda_k, 1, \text{lr\_clip})` (1 for Adam). With the top curvature taken out the
    base method sees a smaller effective :math:`\lambda_{\max}` (about :math:`\lambda_{k+1}`),
    but its step is scaled by :math:`s`: GD stays stable with steps up to
    :math:`2/(s\,\lambda_{k+1})` instead of :math:`2/\lambda_1`, which is
    :math:`2/\lambda_{k+1}` only with ``lr_clip=1`` (the default ``lr_clip=3`` allows
    :math:`s` up to 3; on ``quadratic(dim=50, condition=1000)`` with ``rank=5``,
    :math:`s = \lambda_1/\lambda_5 \approx 1.76`, and ``lr = 0.9 * 2/lambda_6`` diverges
    with the default ``lr_clip`` while ``0.9 * 2/(s lambda_6)`` converges).
    Before the first estimate (the first ``update_every`` steps, as in the reference) the
    method is its base optimizer.

    ``momentum`` is the base's momentum (heavy ball, or Adam's :math:`\beta_1`) and the
    decay of :math:`u_t` (``u = g_1 + \beta u`` for heavy ball, an EMA for Adam, none for GD),
    as in the reference's ``fosi_momentum`` / ``fosi_adam``. Every knob acts on the next step
    (``rank`` at the next estimate). A ``base`` switched mid-run starts the new base afresh:
    its momentum, Adam's second moment and step count (bias correction) and the subspace
    direction :math:`u` are reset, as in a new run of that base from the current iterate
    (each base's momentum has its own scale: heavy ball's buffer is a sum, about
    :math:`g/(1-\beta)`, Adam's an average). Metrics: ``hvp_evals`` and, from the first
    estimate on, ``top_curvature`` (the largest estimated eigenvalue).

    Examples
    --------
    GD diverges above :math:`2/\lambda_1`; with the top 5 eigenpairs taken out it is stable up to
    :math:`2/\lambda_6` (about 4 here):

    >>> import workbench as wb
    >>> prob = wb.problems.quadratic(dim=50, condition=1000.0)   # lambda_1 = 1
    >>> wb.run(wb.optim.GD(lr=3.0), prob, max_steps=300).status.name
    'DIVERGED'
    >>> fosi = wb.optim.FOSI(base="gd", lr=3.0, rank=5, alpha=1.0, warmup=0, update_every=50, lr_clip=1.0)
    >>> res = wb.run(fosi, prob, max_steps=300)
    >>> res.status.name, res.final["loss"] < 1e-5
    ('MAX_STEPS', True)

    References
    ----------
    H. Sivan, M. Gandelsman, A. Schuster, *FOSI: Hybrid first and second order optimization*,
    ICLR 2024. The reference implementation is ``fosi`` (github.com/hsivan/fosi).
    """

    lr = param.Number(default=0.01, bounds=(0.0, None), inclusive_bounds=(False, True),
                      doc="Step size of the base optimizer.")
    base = param.ObjectSelector(default="heavy_ball", objects=list(BASES),
                                doc="The first-order method used outside the curvature subspace.")
    momentum = param.Number(default=0.9, bounds=(0.0, 1.0), inclusive_bounds=(True, False), doc=(
        "Base momentum (heavy ball; Adam's beta1) and the decay of the subspace direction."))
    rank = param.Integer(default=5, bounds=(1, None), doc="k: how many top eigenpairs Newton's step covers.")
    update_every = param.Integer(default=100, bounds=(1, None), doc=(
        "Steps between eigenpair estimates (the first one after this many steps)."))
    warmup = param.Integer(default=None, bounds=(0, None), allow_None=True, doc=(
        "Base-only steps before the first estimate; None: update_every - 1, as the reference "
        "(its first estimate is at step update_every). 0 estimates at the first step."))
    alpha = param.Number(default=0.1, bounds=(0.0, None), doc=(
        "Scale of the Newton step in the subspace (the reference's default 0.1; 1 is a full Newton step)."))
    lr_clip = param.Number(default=3.0, bounds=(1.0, None), doc=(
        "Upper bound of the base step's scaling lambda_1 / lambda_k (Adam uses 1)."))
    beta2 = param.Number(default=0.999, bounds=(0.0, 1.0), inclusive_bounds=(True, False),
                         doc="Adam's second-moment decay (base='adam' only).")
    eps = param.Number(default=1e-8, bounds=(0.0, EPS_MAX), inclusive_bounds=(False, True), doc=(
        "Adam's epsilon (base='adam' only); in (0, 1], as Adam's: 0 divides 0 by 0 where a "
        "gradient coordinate is 0."))

    def init_buffers(self, problem, state):
        require_curvature(self, problem, dense=False)
        if self.rank >= problem.dim:
            raise InvalidParameter(
                f"rank = {self.rank} is not below the dimension {problem.dim}; FOSI needs a subspace smaller "
                f"than the space (at rank = dim it is Newton's method: use damped_newton).")
        d = problem.dim
        return {"V": np.zeros((d, 0)), "inv_curvature": np.zeros(0), "ratio": 1.0, "u": np.zeros(d),
                "momentum": np.zeros(d), "second": np.zeros(d), "base_steps": 0, "hvp_evals": 0,
                "top_curvature": 0.0, "base": self._hp["base"]}

    def _estimate(self, problem, state):
        b, d, k = state.buffers, problem.dim, self._hp["rank"]
        if k >= d:
            raise InvalidParameter(f"rank = {k} is not below the dimension {d}; lower it.")
        x = state.x
        count = [0]

        def hvp(v):
            count[0] += 1
            out = np.asarray(problem.hvp(x, np.ravel(v)), dtype=float)
            if not np.all(np.isfinite(out)):
                raise InvalidProblem(f"a Hessian-vector product of {problem.name} is not finite at this iterate; "
                                     "FOSI cannot estimate its curvature there.")
            return out

        op = scipy.sparse.linalg.LinearOperator((d, d), matvec=hvp, dtype=float)
        # A fixed start vector keeps the run reproducible (ARPACK starts from a random one).
        start = np.ones(d) / math.sqrt(d)
        # Like the reference's single Lanczos pass of order 4k, a loose tolerance: the pairs
        # precondition, so a few digits do; ARPACK's default (machine precision) costs 5-10x the products.
        try:
            lam, V = scipy.sparse.linalg.eigsh(op, k=k, which="LA", v0=start, ncv=min(d, max(2 * k + 1, 4 * k)),
                                               tol=1e-4)
        except scipy.sparse.linalg.ArpackNoConvergence as exc:
            if exc.eigenvalues is None or len(exc.eigenvalues) == 0:
                raise IncompatibleProblem(
                    f"Lanczos found none of the top {k} eigenpairs of the Hessian of {problem.name} within "
                    "ARPACK's iteration limit; lower rank.") from None
            lam, V = exc.eigenvalues, exc.eigenvectors  # the pairs that did converge are usable
        except scipy.sparse.linalg.ArpackError as exc:
            raise IncompatibleProblem(f"Lanczos (ARPACK) failed on the Hessian of {problem.name}: {exc}; lower rank "
                                      "or check the Hessian-vector product.") from None
        order = np.argsort(lam)  # ascending, as the reference orders them: lam[-1] is the largest
        lam, V = lam[order], V[:, order]
        b["hvp_evals"] += count[0]
        b["V"] = V
        # |1/lambda| as in the reference: a negative eigenvalue gets a step away from the saddle's
        # direction of ascent along v; a (near) zero one would give an unbounded step, so cap it.
        b["inv_curvature"] = 1.0 / np.maximum(np.abs(lam), 1e-12 * max(abs(float(lam[-1])), 1e-300))
        b["ratio"] = abs(float(lam[-1])) / max(abs(float(lam[0])), 1e-300)
        b["top_curvature"] = float(lam[-1])

    def _scale(self, b) -> float:
        """The base step's scaling clip(lambda_1 / lambda_k, 1, lr_clip), 1 for Adam: read every
        step, so lr_clip and base moved mid-run act at once."""
        if self._hp["base"] == "adam" or b["V"].shape[1] == 0:
            return 1.0
        return min(max(b["ratio"], 1.0), self._hp["lr_clip"])

    def update(self, problem, state, lr):
        hp, b = self._hp, state.buffers
        check_beta("momentum", hp["momentum"])
        warmup = hp["update_every"] - 1 if hp["warmup"] is None else hp["warmup"]
        if state.t >= warmup and (state.t - warmup) % hp["update_every"] == 0:
            self._estimate(problem, state)
        if b.get("base") != hp["base"]:
            # A base switched mid-run: heavy ball's buffer (a sum, ~g/(1-beta)) read as Adam's
            # first moment, with Adam's step count restarting at 1, made a step ~1/(1-beta)^2
            # times lr (900 lr at beta 0.9). Start the new base as a fresh run would.
            b["momentum"] = np.zeros_like(b["momentum"])
            b["second"] = np.zeros_like(b["second"])
            b["u"] = np.zeros_like(b["u"])
            b["base_steps"] = 0
            b["base"] = hp["base"]
        V, g, beta = b["V"], state.grad, hp["momentum"]
        coords = V.T @ g
        g2 = g - V @ coords
        # u is kept in full coordinates, not V's: V changes at each estimate and u carries over
        g1 = V @ coords
        if hp["base"] == "heavy_ball":
            b["u"] = g1 + beta * b["u"]
        elif hp["base"] == "adam":
            b["u"] = (1.0 - beta) * g1 + beta * b["u"]
        else:
            b["u"] = g1
        newton = V @ (b["inv_curvature"] * (V.T @ b["u"]))
        delta = self._base_step(g2, lr, b)
        delta -= V @ (V.T @ delta)  # keep the base step out of the subspace Newton handles
        state.x = state.x + self._scale(b) * delta - hp["alpha"] * newton

    def _base_step(self, g2, lr, b):
        base, beta = self._hp["base"], self._hp["momentum"]
        if base == "gd":
            return -lr * g2
        if base == "heavy_ball":  # torch.optim.SGD's buffer: m = beta m + g
            b["momentum"] = beta * b["momentum"] + g2
            return -lr * b["momentum"]
        b["base_steps"] += 1
        return adam_update_reference(np.zeros_like(g2), g2, b["momentum"], b["second"], lr=lr, beta1=beta,
                                     beta2=self._hp["beta2"], eps=self._hp["eps"], weight_decay=0.0,
                                     decoupled=False, t=b["base_steps"])

    def method_metrics(self, problem, state):
        b = state.buffers
        out = {"hvp_evals": float(b["hvp_evals"])}
        if b["V"].shape[1]:  # no estimate yet during the warm-up: the column starts when one exists
            out["top_curvature"] = float(b["top_curvature"])
        return out
