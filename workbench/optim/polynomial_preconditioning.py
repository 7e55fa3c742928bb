r"""Polynomial preconditioning for the gradient method and the fast gradient method.

A reconstruction, from the abstract only, of Doikov & Rodomanov, *Polynomial
Preconditioning for Gradient Methods* (ICML 2023, arXiv:2301.13194); the paper's
body was not available. Everything the method rests on is an identity that the
tests check numerically (``tests/optim/test_polynomial_preconditioning.py``):

* :math:`\sigma_k(B)`, the elementary symmetric polynomial of the eigenvalues of a
  PSD matrix :math:`B`, is the sum of its principal :math:`k \times k` minors
  (volume sampling), and follows from the power traces :math:`s_i = \operatorname{tr} B^i`
  by Newton's identities :math:`k\,\sigma_k = \sum_{i=1}^{k} (-1)^{i-1} \sigma_{k-i}\, s_i`.
* :math:`P_\tau(B) = \nabla_B\, \sigma_{\tau+1}(B) = \sum_{i=0}^{\tau} (-1)^i \sigma_{\tau-i}(B)\, B^i`
  has, on the eigenvector :math:`j` of :math:`B`, the eigenvalue
  :math:`\sigma_\tau(\lambda_{-j})` (the eigenvalues without :math:`\lambda_j`), so
  :math:`P_\tau B` has the eigenvalues :math:`\lambda_j \sigma_\tau(\lambda_{-j}) \le \sigma_{\tau+1}(B)`.
* :math:`\tau = n - 1` gives :math:`P_{n-1}(B) / \sigma_n(B) = B^{-1}` (the adjugate).
* The step :math:`1/\sigma_{\tau+1}(B)` is therefore safe, and the condition number
  that governs the method, :math:`\sigma_{\tau+1} / \min_j \lambda_j \sigma_\tau(\lambda_{-j})`,
  is at most :math:`\gamma_\tau = (\lambda_{\tau+1} + \dots + \lambda_n)/\lambda_n`
  (eigenvalues in decreasing order), which replaces :math:`\kappa = \lambda_1/\lambda_n`:
  the :math:`\tau` largest eigenvalues stop counting, whatever they are.
"""
from __future__ import annotations

import math

import numpy as np
import param

from ..core import IncompatibleProblem, InvalidParameter, register_method
from ..linear.preconditioners import apply_chebyshev_polynomial
from .base import Optimizer
from .hessian import dense_hessian, require_curvature

__all__ = [
    "PolynomialPreconditionedGD", "PreconditionerError", "DegreeTooHigh", "NoCurvature", "NotPositiveSemidefinite",
    "elementary_symmetric", "elementary_symmetric_from_traces", "hutchinson_power_traces", "hutchpp_power_traces",
    "apply_symmetric_polynomial", "apply_chebyshev_polynomial", "gamma_bound",
]

PRECONDITIONERS = ("symmetric", "chebyshev")
ACCELERATIONS = ("none", "fast")
TRACES = ("exact", "hutchinson", "hutch++")
#: Relative tolerance under which a negative eigenvalue of B counts as rounding.
PSD_TOLERANCE = 1e-10


class PreconditionerError(IncompatibleProblem):
    """The problem or the settings do not allow a polynomial preconditioner (base of the three below)."""


class DegreeTooHigh(PreconditionerError, InvalidParameter):
    """``degree`` is at least the dimension, or above the rank of ``B``."""


class NoCurvature(PreconditionerError):
    """The problem gives no Hessian (no Hessian-vector product), so there is no ``B`` to take polynomials of."""


class NotPositiveSemidefinite(PreconditionerError):
    """``B`` has a negative eigenvalue (or the estimated symmetric polynomials are not positive)."""


# ----------------------------------------------------------------------------- the identities
def elementary_symmetric(values, k: int) -> np.ndarray:
    r"""``[e_0, ..., e_k]`` of the numbers ``values`` by the stable recurrence (no cancellation).

    :math:`e_j(x_1..x_m) = e_j(x_1..x_{m-1}) + x_m e_{j-1}(x_1..x_{m-1})`.

    Examples
    --------
    >>> elementary_symmetric([1.0, 2.0, 3.0], 3)
    array([ 1.,  6., 11.,  6.])
    """
    e = np.zeros(k + 1)
    e[0] = 1.0
    for x in np.asarray(values, dtype=float):
        e[1:] = e[1:] + x * e[:-1]
    return e


def elementary_symmetric_from_traces(traces) -> np.ndarray:
    r"""``[e_0, ..., e_K]`` from the power traces ``[tr B, tr B^2, ..., tr B^K]`` (Newton's identities).

    .. math:: k\, e_k = \sum_{i=1}^{k} (-1)^{i-1} e_{k-i}\, s_i, \qquad s_i = \operatorname{tr} B^i.

    Examples
    --------
    >>> lam = np.array([1.0, 2.0, 3.0])
    >>> elementary_symmetric_from_traces([np.sum(lam ** i) for i in (1, 2, 3)])
    array([ 1.,  6., 11.,  6.])
    """
    s = np.asarray(traces, dtype=float)
    K = s.size
    e = np.zeros(K + 1)
    e[0] = 1.0
    for k in range(1, K + 1):
        signs = (-1.0) ** np.arange(k)  # (-1)^(i-1), i = 1..k
        e[k] = float(np.sum(signs * e[k - 1::-1][:k] * s[:k])) / k
    return e


def hutchinson_power_traces(matvec, n: int, kmax: int, probes: int, rng) -> tuple[np.ndarray, int]:
    r"""Hutchinson estimates of ``tr B^k``, ``k = 1..kmax``, from ``probes`` Rademacher vectors.

    :math:`\operatorname{tr} B^{2j} \approx \tfrac1m \sum \|B^j z\|^2` and
    :math:`\operatorname{tr} B^{2j+1} \approx \tfrac1m \sum (B^j z)^T B (B^j z)`, so the
    ``kmax`` traces cost ``ceil(kmax / 2)`` products per probe. Returns ``(traces, matvecs)``.
    """
    Z = rng.choice([-1.0, 1.0], size=(n, probes))
    powers = [Z]  # B^j Z, j = 0..ceil(kmax/2)
    for _ in range((kmax + 1) // 2):
        powers.append(matvec(powers[-1]))
    s = np.empty(kmax)
    for k in range(1, kmax + 1):
        a, b = k // 2, k - k // 2
        s[k - 1] = float(np.mean(np.sum(powers[a] * powers[b], axis=0)))
    return s, probes * (len(powers) - 1)


def hutchpp_power_traces(matvec, n: int, kmax: int, probes: int, rng) -> tuple[np.ndarray, int]:
    r"""Hutch++ estimates of ``tr B^k``, ``k = 1..kmax``: exact on a sketched top subspace, Hutchinson on the rest.

    With :math:`Q` an orthonormal basis of :math:`B S` (``probes // 3`` Gaussian columns),
    :math:`\operatorname{tr} B^k = \operatorname{tr}(Q^T B^k Q) + \operatorname{tr}((I-QQ^T) B^k (I-QQ^T))`
    for any orthonormal :math:`Q`; the first term is computed, the second estimated with the
    remaining probes projected off :math:`Q`. Outlying eigenvalues land in :math:`Q`, so the
    estimate no longer carries their variance (Meyer, Musco, Musco & Woodruff 2021).
    Returns ``(traces, matvecs)``.
    """
    k = max(1, min(probes // 3, n))
    r = max(1, probes - k)
    Q, _ = np.linalg.qr(matvec(rng.standard_normal((n, k))))
    Z = rng.choice([-1.0, 1.0], size=(n, r))
    Z = Z - Q @ (Q.T @ Z)
    half = (kmax + 1) // 2
    pq, pz = [Q], [Z]
    for _ in range(half):
        pq.append(matvec(pq[-1]))
        pz.append(matvec(pz[-1]))
    s = np.empty(kmax)
    for j in range(1, kmax + 1):
        a, b = j // 2, j - j // 2
        s[j - 1] = float(np.sum(pq[a] * pq[b])) + float(np.mean(np.sum(pz[a] * pz[b], axis=0)))
    return s, k + (k + r) * half


def apply_symmetric_polynomial(matvec, e, tau: int, v) -> np.ndarray:
    r""":math:`P_\tau(B) v = \sum_{i=0}^{\tau} (-1)^i e_{\tau-i} B^i v` by Horner's rule: ``tau`` products.

    ``e`` holds ``e_0..e_tau`` (at least). Horner: :math:`w \leftarrow e_j v - B w`, :math:`j = 1..\tau`.
    """
    w = e[0] * v
    for j in range(1, tau + 1):
        w = e[j] * v - matvec(w)
    return w


def chebyshev_residual_bound(tau: int, lo: float, hi: float) -> float:
    r""":math:`1/T_{\tau+1}((h+l)/(h-l))`: the largest :math:`|1 - \lambda q(\lambda)|` on :math:`[l, h]`."""
    if hi <= lo:
        return 0.0
    c = (hi + lo) / (hi - lo)
    return 1.0 / math.cosh((tau + 1) * math.acosh(c)) if c < 1e300 else 0.0


def gamma_bound(eigenvalues, tau: int) -> float:
    r""":math:`\gamma_\tau = (\lambda_{\tau+1} + \dots + \lambda_n)/\lambda_n` (decreasing order); ``tau = 0`` is ``tr B / lambda_min``.

    Examples
    --------
    >>> gamma_bound([100.0, 10.0, 2.0, 1.0], 1)
    13.0
    """
    lam = np.sort(np.asarray(eigenvalues, dtype=float))[::-1]
    return float(lam[tau:].sum() / lam[-1]) if lam[-1] > 0 else math.inf


# ----------------------------------------------------------------------------- the method
@register_method("polynomial_preconditioned_gd", family="optim")
class PolynomialPreconditionedGD(Optimizer):
    r"""Gradient method preconditioned by a polynomial of the Hessian (symmetric-polynomial or Chebyshev).

    With :math:`B` the Hessian (of a quadratic; for another objective, the Hessian at
    ``x0``, frozen) and :math:`g_t = \nabla f(x_t)`:

    .. math::
        x_{t+1} = x_t - \frac{\eta}{\sigma_{\tau+1}(B)}\, P_\tau(B)\, g_t, \qquad
        P_\tau(B) = \sum_{i=0}^{\tau} (-1)^i \sigma_{\tau-i}(B)\, B^i ,

    where :math:`\sigma_k` is the :math:`k`-th elementary symmetric polynomial of the
    eigenvalues (the sum of the principal :math:`k \times k` minors), got from
    :math:`\operatorname{tr} B^i` by Newton's identities (``traces="exact"``, a dense
    eigendecomposition, or ``"hutchinson"``, ``probes`` random vectors). ``degree`` 0 is
    GD with step :math:`1/\operatorname{tr} B`. The rate is governed by
    :math:`\gamma_\tau = \sum_{i > \tau} \lambda_i / \lambda_n` instead of
    :math:`\kappa = \lambda_1/\lambda_n`: it pays off when a few eigenvalues stand far above the rest.

    * ``preconditioner="chebyshev"``: :math:`x_{t+1} = x_t - \eta\, q(B) g_t` with the classical
      Chebyshev :math:`q` of degree :math:`\tau` (:math:`1-\lambda q(\lambda)` the scaled
      :math:`T_{\tau+1}` on :math:`[\lambda_{min}, \lambda_{max}]`). It needs the spectrum's
      bounds: ``lambda_min``/``lambda_max`` if set, else the exact extreme eigenvalues
      (``traces="exact"``), else the problem's metadata.
    * ``acceleration="fast"``: Nesterov's fast gradient method in the norm of the
      preconditioner, :math:`x_{t+1} = y_t - M g(y_t)`, :math:`y_{t+1} = x_{t+1} + \beta (x_{t+1}-x_t)`,
      with :math:`\beta = (1-\sqrt{q})/(1+\sqrt{q})`, :math:`q = 1/\gamma_\tau` (symmetric, exact
      traces; :math:`\lambda_n` is the only spectral fact used, as in any strongly convex FGM),
      the Chebyshev window's :math:`\mu'/L'`, or else :math:`\beta_t = t/(t+3)`.
    * ``adaptive=True``: the Krylov search :math:`x_{t+1} = x_t + V c`, with :math:`V` an
      orthonormal basis of :math:`\operatorname{span}\{g, Bg, \dots, B^\tau g\}` and :math:`c` the
      minimiser of the model :math:`\langle g, Vc\rangle + \tfrac{1}{2\eta}\langle BVc, Vc\rangle`
      (exact minimisation of :math:`f` on a quadratic): the best polynomial of degree
      :math:`\tau` at each step, at the price of ``degree + 1`` products. It reads no traces.

    :math:`B` must be PSD. An indefinite Hessian is refused (:class:`NotPositiveSemidefinite`)
    on a problem marked convex or quadratic, or not marked at all; on one marked non-convex
    (a network) its negative eigenvalues are clipped to 0 (``clipped_eigenvalues``): a local
    model with no guarantee.

    Cost: each application of :math:`P_\tau` or :math:`q` is ``degree`` Hessian-vector
    products; ``matvecs`` counts them, the gradients and Hutchinson's probes
    (``setup_matvecs``). On a quadratic a gradient is one product, so ``matvecs`` is the
    machine-independent cost to compare methods by. Metrics also give ``kappa``,
    ``gamma_tau`` (the bound) and ``step_condition`` (the condition number that
    actually governs the step, at most ``gamma_tau``) where the spectrum is known.

    This is a *reconstruction from the abstract*: the identities above are verified
    numerically by the tests, the method's claims are measured there, and the paper's
    own constants and variants may differ.

    Examples
    --------
    >>> import workbench as wb
    >>> prob = wb.problems.spectrum_quadratic([1e4, 3e3, 1e3] + list(np.linspace(1.0, 10.0, 47)))
    >>> plain = wb.run(PolynomialPreconditionedGD(degree=0), prob, rtol=1e-6, max_steps=100000)
    >>> cubic = wb.run(PolynomialPreconditionedGD(degree=3), prob, rtol=1e-6, max_steps=100000)
    >>> cubic.final["matvecs"] < plain.final["matvecs"] / 5
    True
    >>> round(cubic.final["gamma_tau"], 1), round(cubic.final["kappa"])
    (258.5, 10000)

    References
    ----------
    N. Doikov, A. Rodomanov, *Polynomial Preconditioning for Gradient Methods*, ICML 2023,
    arXiv:2301.13194 (reconstructed from its abstract). M. Hutchinson, *A stochastic estimator of
    the trace of the influence matrix*, 1989. Y. Saad, *Iterative Methods for Sparse Linear Systems*,
    2003, sec. 12.3 (Chebyshev polynomials).
    """

    lr = param.Number(default=1.0, bounds=(0.0, None), inclusive_bounds=(False, True), doc=(
        "Multiplier eta on the theoretical step 1/sigma_{tau+1}(B) (symmetric), q(B) (chebyshev) or "
        "on the model's curvature (adaptive); 1 is what the theory uses, above 2 diverges."))
    degree = param.Integer(default=2, bounds=(0, None), doc=(
        "tau: the polynomial's degree; each step costs tau extra Hessian-vector products. 0 is plain GD "
        "with step 1/tr(B); must stay below the dimension (and the rank of B)."))
    preconditioner = param.ObjectSelector(default="symmetric", objects=list(PRECONDITIONERS), doc=(
        "symmetric: P_tau = grad sigma_{tau+1}(B), needs no spectrum; chebyshev: the Chebyshev "
        "approximation of 1/lambda on [lambda_min, lambda_max], needs the spectrum's bounds."))
    acceleration = param.ObjectSelector(default="none", objects=list(ACCELERATIONS), doc=(
        "none: the preconditioned gradient method; fast: Nesterov's fast gradient method in the "
        "preconditioner's norm."))
    adaptive = param.Boolean(default=False, doc=(
        "Minimise the (model of the) objective over span{g, Bg, ..., B^tau g} at each step instead of a "
        "fixed polynomial."))
    traces = param.ObjectSelector(default="exact", objects=list(TRACES), doc=(
        "How sigma_k(B) are found: exact (dense eigendecomposition, up to 5000 variables), "
        "hutchinson (random probes, Hessian-vector products only) or hutch++ (a sketched top "
        "subspace taken exactly plus Hutchinson on the rest: robust to outlying eigenvalues)."))
    probes = param.Integer(default=30, bounds=(1, 100_000), doc=(
        "Probe vectors of the trace estimates (traces='hutchinson' or 'hutch++'); each costs "
        "ceil((tau+1)/2) products, once (hutch++ spends a third of them on the sketch)."))
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of Hutchinson's probes.")
    lambda_min = param.Number(default=None, allow_None=True, bounds=(0.0, None), inclusive_bounds=(False, True),
                              doc="Lower end of the Chebyshev window (None: from the spectrum or the problem).")
    lambda_max = param.Number(default=None, allow_None=True, bounds=(0.0, None), inclusive_bounds=(False, True),
                              doc="Upper end of the Chebyshev window (None: from the spectrum or the problem).")

    converges_on = (frozenset({"smooth", "convex", "quadratic"}),)
    may_be_inert = frozenset({"preconditioner", "acceleration", "traces", "probes", "seed", "lambda_min",
                              "lambda_max"})

    def inert_params(self) -> frozenset[str]:
        """Adaptive reads none of the polynomial's settings; Hutchinson's knobs act only with
        ``traces='hutchinson'`` and the symmetric preconditioner; the window only under chebyshev."""
        if self.adaptive:
            return self.may_be_inert
        out = set()
        if self.traces == "exact" or self.preconditioner != "symmetric":
            out |= {"probes", "seed"}
        if self.preconditioner != "chebyshev":
            out |= {"lambda_min", "lambda_max"}
        return frozenset(out)

    # -- setup -----------------------------------------------------------------------------
    def init_buffers(self, problem, state):
        n = problem.dim
        if not problem.has_hvp:
            raise NoCurvature(
                f"polynomial_preconditioned_gd takes polynomials of the Hessian, and {problem.name} has no "
                "Hessian-vector product; give one (from_functions(..., hvp=...)) or use gd or nesterov.")
        x0 = state.x.copy()
        b = {"n": n, "x0": x0, "clipped": 0, "hvp_evals": 0, "hessian_evals": 0, "setup_matvecs": 0, "B": None,
             "eigenvalues": None, "config": None, "x_prev": state.x.copy(), "beta": 0.0, "k": 0}
        if self._hp["traces"] == "exact":
            require_curvature(self, problem, dense=True)
            B = dense_hessian(problem, x0)
            B = 0.5 * (B + B.T)
            lam, vec = np.linalg.eigh(B)
            lam, vec = lam[::-1], vec[:, ::-1]
            clipped = self._check_psd(problem, lam)
            if clipped:  # a non-convex objective: keep the PSD part of its Hessian at x0
                lam = np.clip(lam, 0.0, None)
                B = (vec * lam) @ vec.T
                B = 0.5 * (B + B.T)
            b["clipped"] = clipped
            b["B"], b["eigenvalues"] = B, np.clip(lam, 0.0, None)
            b["hessian_evals"] = 1
        self._check_degree(problem, b, self._hp["degree"])
        self._configure(problem, b)
        return b

    @staticmethod
    def _check_psd(problem, lam) -> int:
        """Refuse an indefinite Hessian of a problem said to be convex or quadratic (or with no
        properties given); for a non-convex objective return how many eigenvalues to clip to 0."""
        top = max(abs(float(lam[0])), abs(float(lam[-1])), 1e-300)
        negative = int(np.sum(lam < -PSD_TOLERANCE * top))
        if not negative:
            return 0
        props = set(getattr(problem, "properties", ()) or ())
        if props & {"convex", "quadratic"} or not props:
            raise NotPositiveSemidefinite(
                f"the Hessian of {problem.name} has the eigenvalue {lam[-1]:.3g} < 0; polynomial preconditioning "
                "needs a PSD B (a convex quadratic, or f(x) = phi(Ax) with convex phi). Use gd with a small step, "
                "or damped_newton with levenberg.")
        return negative

    def _check_degree(self, problem, b, tau):
        n = b["n"]
        if tau >= n:
            raise DegreeTooHigh(
                f"degree {tau} is not below the dimension {n} of {problem.name}; at most {n - 1} "
                f"(degree n-1 already makes P/sigma_n the exact inverse).")
        lam = b["eigenvalues"]
        if lam is not None and not self._hp["adaptive"]:
            rank = int(np.sum(lam > PSD_TOLERANCE * max(float(lam[0]), 1e-300)))
            if self._hp["preconditioner"] == "symmetric" and tau >= rank:
                raise DegreeTooHigh(
                    f"degree {tau} is not below the rank {rank} of the Hessian of {problem.name}, so "
                    f"sigma_{tau + 1}(B) = 0 and the step is undefined; choose degree < {rank}.")

    def _matvec(self, problem, b):
        B = b["B"]
        if B is not None:
            return lambda v: B @ v
        x0 = b["x0"]

        def mv(v):
            if v.ndim == 1:
                return np.asarray(problem.hvp(x0, v), dtype=float)
            return np.column_stack([np.asarray(problem.hvp(x0, v[:, j]), dtype=float) for j in range(v.shape[1])])
        return mv

    def _configure(self, problem, b):
        """(Re)compute what the current settings need: sigma_k, the Chebyshev window, the momentum."""
        hp = self._hp
        tau, kind, adaptive = hp["degree"], hp["preconditioner"], hp["adaptive"]
        key = (tau, kind, hp["acceleration"], adaptive, hp["traces"], hp["probes"], hp["seed"],
               hp["lambda_min"], hp["lambda_max"])
        if key == b["config"]:
            return
        if b["config"] is not None:
            self._check_degree(problem, b, tau)
        b["config"] = key
        lam = b["eigenvalues"]
        n = b["n"]
        b["kappa"] = float(lam[0] / lam[-1]) if lam is not None and lam[-1] > 0 else math.nan
        b["gamma"] = gamma_bound(lam, tau) if lam is not None else math.nan
        b["step_condition"] = math.nan
        b["e"] = None
        b["window"] = None
        b["q"] = math.nan  # mu'/L' of the preconditioned problem, when known
        if adaptive:
            return
        if kind == "symmetric":
            if lam is not None:
                # With the spectrum at hand the stable recurrence replaces Newton's identities (equal in
                # exact arithmetic; the identities cancel catastrophically at high degree on wide spectra).
                e = elementary_symmetric(lam, tau + 1)
                # the smallest lambda_j sigma_tau(lambda_-j) is at j = n (the function is increasing in
                # lambda_j, and lam is sorted in decreasing order)
                mu = lam[n - 1] * elementary_symmetric(lam[:n - 1], tau)[tau]
                b["step_condition"] = float(e[tau + 1] / mu) if mu > 0 else math.inf
                if math.isfinite(b["gamma"]) and b["gamma"] > 0:
                    b["q"] = 1.0 / b["gamma"]
            else:
                rng = np.random.default_rng(hp["seed"])
                estimate = hutchinson_power_traces if hp["traces"] == "hutchinson" else hutchpp_power_traces
                s, cost = estimate(self._matvec(problem, b), n, tau + 1, hp["probes"], rng)
                b["hvp_evals"] += cost
                b["setup_matvecs"] += cost
                e = elementary_symmetric_from_traces(s)
                bad = [k for k in range(1, tau + 2) if not e[k] > 0]
                if bad:
                    raise NotPositiveSemidefinite(
                        f"the Hutchinson estimate of sigma_{bad[0]}(B) from {hp['probes']} probes is "
                        f"{e[bad[0]]:.3g}, not positive (B is not PSD, or the estimate is too rough at degree "
                        f"{tau}); use traces='hutch++' (robust to outlying eigenvalues), raise probes, lower the "
                        "degree, or use traces='exact'.")
            b["e"] = e
        else:
            lo, hi = self._window(problem, b)
            b["window"] = (lo, hi)
            eps = b["window_eps"] = chebyshev_residual_bound(tau, lo, hi)
            b["q"] = (1.0 - eps) / (1.0 + eps)
            if lam is not None:  # lambda q(lambda) on the spectrum
                if hi > lo:
                    T = np.polynomial.chebyshev.Chebyshev.basis(tau + 1)
                    vals = 1.0 - T((hi + lo - 2 * lam) / (hi - lo)) / T((hi + lo) / (hi - lo))
                else:
                    vals = lam / hi
                b["step_condition"] = float(vals.max() / vals.min()) if vals.min() > 0 else math.inf

    def _window(self, problem, b):
        hp = self._hp
        lam = b["eigenvalues"]
        meta = getattr(problem, "metadata", {}) or {}
        lo, hi = hp["lambda_min"], hp["lambda_max"]
        if lo is None:
            lo = float(lam[-1]) if lam is not None else meta.get("lambda_min")
        if hi is None:
            hi = float(lam[0]) if lam is not None else meta.get("lambda_max")
        if lo is None or hi is None or not (0 < lo <= hi):
            raise PreconditionerError(
                f"the Chebyshev preconditioner needs 0 < lambda_min <= lambda_max of the Hessian of {problem.name}, "
                f"and got [{lo}, {hi}]; set lambda_min and lambda_max, or use traces='exact' (a positive definite "
                "Hessian), or preconditioner='symmetric', which needs no spectrum.")
        return float(lo), float(hi)

    # -- the step ----------------------------------------------------------------------------
    def _direction(self, problem, b, g):
        """The preconditioned gradient M g (``degree`` products)."""
        hp = self._hp
        tau = hp["degree"]
        mv = self._matvec(problem, b)
        if hp["preconditioner"] == "symmetric":
            e = b["e"]
            return apply_symmetric_polynomial(mv, e, tau, g) / e[tau + 1]
        lo, hi = b["window"]
        h = apply_chebyshev_polynomial(mv, lo, hi, tau, g)
        if hp["acceleration"] == "fast":  # scale to L' = 1: lambda q(lambda) <= 1 + eps
            h = h / (1.0 + b["window_eps"])
        return h

    def _krylov_step(self, problem, b, g, lr):
        tau = self._hp["degree"]
        mv = self._matvec(problem, b)
        gn = float(np.sqrt(g @ g))
        if gn == 0.0:
            return np.zeros_like(g), 0
        V, BV = [g / gn], []
        products = 0
        for _ in range(tau + 1):
            w = mv(V[-1])
            products += 1
            BV.append(w)
            if len(V) == tau + 1:
                break
            w = w.copy()
            for _twice in range(2):  # Gram-Schmidt, twice for stability
                for u in V:
                    w -= (u @ w) * u
            nw = float(np.sqrt(w @ w))
            if nw <= 1e-13 * float(np.sqrt(BV[-1] @ BV[-1])):  # invariant subspace: exact in it
                break
            V.append(w / nw)
        V = np.array(V[:len(BV)]).T
        H = V.T @ np.array(BV).T
        H = 0.5 * (H + H.T)
        rhs = -(V.T @ g)
        try:
            c = np.linalg.solve(H, rhs)
        except np.linalg.LinAlgError:
            c = np.linalg.lstsq(H, rhs, rcond=None)[0]
        return lr * (V @ c), products

    def update(self, problem, state, lr):
        b = state.buffers
        hp = self._hp
        self._configure(problem, b)  # a knob moved mid-run acts on this step
        g = state.grad
        if hp["adaptive"]:
            step, products = self._krylov_step(problem, b, g, lr)
            b["hvp_evals"] += products
            state.x = state.x + step
            return lr
        d = self._direction(problem, b, g)
        b["hvp_evals"] += hp["degree"]
        if hp["acceleration"] == "none":
            state.x = state.x - lr * d
            return lr
        # fast gradient method, look-ahead form: state.x is y_t, buffers["x_prev"] is x_t
        x_new = state.x - lr * d
        q = b["q"]
        if math.isfinite(q) and q > 0:
            beta = (1.0 - math.sqrt(q)) / (1.0 + math.sqrt(q))
        else:
            k = b["k"]
            beta = k / (k + 3.0)
        b["k"] += 1
        b["beta"] = beta
        state.x = x_new + beta * (x_new - b["x_prev"])
        b["x_prev"] = x_new
        return lr

    def method_metrics(self, problem, state):
        b = state.buffers
        return {"matvecs": float(state.grad_evals + b["hvp_evals"]), "hvp_evals": float(b["hvp_evals"]),
                "hessian_evals": float(b["hessian_evals"]), "setup_matvecs": float(b["setup_matvecs"]),
                "kappa": float(b["kappa"]), "gamma_tau": float(b["gamma"]),
                "step_condition": float(b["step_condition"]), "momentum": float(b["beta"]),
                "clipped_eigenvalues": float(b["clipped"])}
