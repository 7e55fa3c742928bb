"""Newton's method with a step size: fixed, AICN, root-Newton, universal, gradient-regularised or Armijo."""
from __future__ import annotations

import math

import numpy as np
import param
import scipy.linalg

from ..core import IncompatibleProblem, register_method
from .base import Optimizer
from .hessian import dense_hessian, require_curvature

__all__ = ["DampedNewton", "aicn_step_size", "root_newton_step_size"]

STEP_RULES = ("fixed", "aicn", "root", "universal", "gradient_regularized", "armijo")
#: The rules that read each knob besides lr and levenberg (which every rule reads).
RULES_READING = {"smoothness": frozenset({"aicn", "root", "universal", "gradient_regularized"}),
                 "order": frozenset({"root", "universal"})}

# Universal Newton's backtracking: at most MAX_TRIALS trials a step, sigma kept within
# [SIGMA_FLOOR min(sigma_0, 1), SIGMA_CAP max(sigma_0, 1)], and tests below FLOOR_ULPS roundings skipped.
EPS = float(np.finfo(float).eps)
MAX_TRIALS = 60
SIGMA_CAP = 1e12
SIGMA_FLOOR = 1e-12
FLOOR_ULPS = 4.0


def aicn_step_size(decrement: float, smoothness: float) -> float:
    r"""The affine-invariant step :math:`\alpha = (\sqrt{1 + 2 L G} - 1) / (L G)`.

    ``decrement`` is the Newton decrement :math:`G = \sqrt{g^T H^{-1} g}`; the step
    tends to 1 as :math:`G \to 0` (pure Newton near the solution) and to
    :math:`\sqrt{2/(L G)}` far from it.
    """
    # (sqrt(1 + 2u) - 1) / u equals 2 / (sqrt(1 + 2u) + 1); the second form does not cancel
    # as u -> 0, where the first loses every digit.
    return 2.0 / (math.sqrt(1.0 + 2.0 * smoothness * decrement) + 1.0)


def root_newton_step_size(decrement: float, smoothness: float, order: float) -> float:
    r"""The root-Newton step :math:`\alpha = 1 / (1 + (9 L)^{1/(q-1)} G^{(q-2)/(q-1)})`.

    ``order`` :math:`q = p + \nu \in [2, 4]` is the smoothness the schedule assumes: the
    p-th derivative :math:`\nu`-Hölder in the local norm, with constant ``smoothness``
    :math:`L`. The form :math:`\alpha = 1/(1 + \theta)` is shared by the regularised Newton
    steps (the model regularised by a power :math:`2 + \beta` of the local norm steps along
    :math:`-H^{-1} g` with :math:`\theta = \alpha^\beta \sigma G^\beta`, an implicit equation);
    the root schedule sets :math:`\theta` in closed form. At :math:`q = 2` it is the constant
    :math:`1/(1 + 9L)`; for :math:`q > 2` it tends to 1 as :math:`G \to 0`.
    """
    if decrement == 0.0:
        return 1.0
    theta = (9.0 * smoothness) ** (1.0 / (order - 1.0)) * decrement ** ((order - 2.0) / (order - 1.0))
    return 1.0 / (1.0 + theta)


@register_method("damped_newton", family="optim")
class DampedNewton(Optimizer):
    r"""Newton's method with a step size chosen by one of six rules.

    .. math::
        x_{t+1} = x_t - \alpha_t \left(\nabla^2 f(x_t) + \lambda_t I\right)^{-1} \nabla f(x_t)

    ``step_rule`` chooses :math:`\alpha_t` and :math:`\lambda_t` (besides the constant
    ``levenberg`` shift, which every rule adds to :math:`\lambda_t`):

    * ``"fixed"``: :math:`\alpha_t = \text{lr}`, :math:`\lambda_t = 0` (``lr = 1`` is pure
      Newton: one step on a quadratic, quadratic convergence near a minimiser, and
      divergence from far away on e.g. logistic regression);
    * ``"aicn"`` (default): the affine-invariant cubic Newton step size of Hanzely et al.
      (2022), :math:`\alpha_t = 2 / (1 + \sqrt{1 + 2 L G_t})` with the Newton decrement
      :math:`G_t = \sqrt{g_t^T H_t^{-1} g_t}` and ``smoothness`` :math:`L`; global
      :math:`O(1/k^2)` and local quadratic convergence, no subproblem to solve;
    * ``"root"``: the root-Newton schedule of Hanzely, Abdukhakimov and Takáč (2024),
      :math:`\alpha_t = 1/(1 + \theta_t)`, :math:`\theta_t = (9L)^{1/(q-1)} G_t^{(q-2)/(q-1)}`
      with ``order`` :math:`q \in [2, 4]`: global :math:`O(k^{-(q-1)})`, so
      :math:`O(k^{-3})` at ``order = 4`` (a Lipschitz third derivative) and AICN's
      :math:`O(k^{-2})` order at 3;
    * ``"universal"``: their backtracking version, which needs no ``smoothness``: trial
      :math:`\theta = 2^j \sigma_t G_t^{\beta}` (:math:`\beta = (q-2)/(q-1)`), take
      :math:`a = \text{lr}/(1 + \theta)` and accept the first :math:`y = x - a n`
      (:math:`n = H^{-1} g`) with
      :math:`\langle \nabla f(y), n\rangle \ge \|\nabla f(y)\|_{H^{-1}}^2 / (2 (1 - a))`,
      then :math:`\sigma_{t+1} = 2^{j-1} \sigma_t`. The test judges the step actually taken:
      :math:`y` is the regularised Newton step of :math:`\theta' = 1/a - 1`, and
      :math:`a\theta' = 1 - a`, so at ``lr = 1`` it is the paper's test with :math:`a\theta`;
      ``lr < 1`` is a larger :math:`\theta'`, and a trial with :math:`a \ge 1` (``lr > 1``) is the
      step of no :math:`\theta' > 0` and is skipped. ``smoothness`` is :math:`\sigma_0`; moved
      mid-run, the search restarts from it. Each trial costs a gradient and a solve with the
      factor already made (counted in ``function_evals``). At the precision floor, where
      :math:`G^2 \le 4\epsilon |f|` or :math:`G \le 4\epsilon \|x\|_H` (the test would judge
      rounding), the step is Newton's if it does not raise :math:`\|\nabla f\|_{H^{-1}}`, else
      none, and :math:`\sigma` is kept; :math:`\sigma` stays within
      :math:`[10^{-12}\min(\sigma_0, 1), 10^{12}\max(\sigma_0, 1)]`. When no trial passes (60
      of them, or :math:`\theta` past :math:`1/\epsilon`) the run ends, status ``failed``, with
      a sentence, and x stays where it was;
    * ``"gradient_regularized"``: :math:`\alpha_t = 1`,
      :math:`\lambda_t = \sqrt{L \|\nabla f(x_t)\|}` (Mishchenko 2021; Doikov and Nesterov
      2021), global :math:`O(1/k^2)` for convex :math:`f` with an :math:`L`-Lipschitz Hessian;
    * ``"armijo"``: backtracking from :math:`\alpha = \text{lr}`, halving until
      :math:`f(x + \alpha d) \le f(x) + 10^{-4} \alpha\, g^T d`.

    A schedule multiplies the rule's :math:`\alpha_t`. Metrics: ``newton_decrement``
    :math:`G_t`, ``hessian_evals``, ``function_evals`` (Armijo's and universal's trial points),
    ``sigma`` (universal's next :math:`\sigma`); ``lr`` is the :math:`\alpha_t` used.
    ``inert_params()`` names the knobs the current rule does not read (``order`` outside root
    and universal, ``smoothness`` under fixed and armijo); the controls disable them. The Hessian comes from the objective (closed form where it has one,
    else ``dim`` Hessian-vector products). Where :math:`H_t + \lambda_t I` is not positive
    definite the run ends with a sentence saying what to change.

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.optim.DampedNewton(step_rule="fixed"), wb.problems.quadratic(condition=1e6),
    ...              max_steps=5, atol=1e-12)
    >>> res.iterations, res.status.name
    (1, 'CONVERGED')
    >>> res = wb.run(wb.optim.DampedNewton(), wb.problems.logistic_regression(), atol=1e-10, max_steps=100)
    >>> res.status.name, res.iterations
    ('CONVERGED', 7)

    References
    ----------
    S. Hanzely, D. Kamzolov, D. Pasechnyuk, A. Gasnikov, P. Richtárik, M. Takáč, *A damped Newton
    method achieves global O(1/k^2) and local quadratic convergence rate*, NeurIPS 2022.
    S. Hanzely, F. Abdukhakimov, M. Takáč, *Newton method revisited: global convergence rates up to
    O(k^-3) for stepsize schedules and linesearch procedures*, arXiv:2405.18926, 2024.
    K. Mishchenko, *Regularized Newton method with global O(1/k^2) convergence*, SIAM J. Optim. 2023.
    """

    lr = param.Number(default=1.0, bounds=(0.0, None), inclusive_bounds=(False, True), doc=(
        "Step size alpha of the 'fixed' rule; Armijo's first trial; a multiplier otherwise (under "
        "universal the backtracking tests the step lr * alpha actually taken)."))
    step_rule = param.ObjectSelector(default="aicn", objects=list(STEP_RULES), doc=(
        "How the step is chosen: fixed alpha = lr, aicn (affine-invariant), root (the O(k^-(q-1)) "
        "schedule), universal (its backtracking, no L needed), gradient_regularized (lambda = sqrt(L ||g||)) "
        "or armijo (backtracking)."))
    smoothness = param.Number(default=1.0, bounds=(0.0, None), inclusive_bounds=(False, True), doc=(
        "L: the self-concordance constant of aicn and root, the Hessian's Lipschitz constant of "
        "gradient_regularized, the first sigma of universal (moved mid-run, universal's search restarts "
        "from it). Larger is more cautious. Not used by step_rule='fixed' or 'armijo'."))
    order = param.Number(default=4.0, bounds=(2.0, 4.0), doc=(
        "q = p + nu, used only by step_rule='root' and 'universal': 3 assumes a Lipschitz Hessian "
        "(O(k^-2)), 4 a Lipschitz third derivative (O(k^-3)), 2 a bounded Hessian change (a constant step)."))
    levenberg = param.Number(default=0.0, bounds=(0.0, None), doc=(
        "A constant lambda added to the Hessian's diagonal (Levenberg-Marquardt); makes an "
        "indefinite Hessian usable when it exceeds minus its smallest eigenvalue."))

    may_be_inert = frozenset(RULES_READING)

    def inert_params(self) -> frozenset[str]:
        """The knobs the current ``step_rule`` does not read: ``order`` outside root and universal,
        ``smoothness`` under fixed and armijo (``lr`` and ``levenberg`` act under every rule)."""
        rule = self.step_rule
        return frozenset(name for name, rules in RULES_READING.items() if rule not in rules)

    def init_buffers(self, problem, state):
        require_curvature(self, problem, dense=True)
        return {"hessian_evals": 0, "function_evals": 0, "decrement": math.nan, "sigma": self._hp["smoothness"],
                "sigma_set": self._hp["smoothness"]}

    def _factor(self, H, shift, t):
        if shift:
            H = H + shift * np.eye(H.shape[0])
        try:
            return scipy.linalg.cho_factor(H, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            eigenvalues = np.linalg.eigvalsh(H)
            lowest, top = float(eigenvalues[0]), float(eigenvalues[-1])
            # a singular Hessian (lowest ~ 0) needs a positive shift too, not "above -0"
            needed = max(-lowest, 1e-6 * max(abs(top), 1.0))
            raise IncompatibleProblem(
                f"at step {t} the (shifted) Hessian is not positive definite: its smallest eigenvalue is "
                f"{lowest:.3g}. Newton's step would not point downhill; set levenberg above {needed:.3g}, "
                "or use lazy_newton, whose cubic step handles negative curvature.") from None

    def update(self, problem, state, lr):
        hp = self._hp
        rule, L = hp["step_rule"], hp["smoothness"]
        g = state.grad
        H = dense_hessian(problem, state.x)
        state.buffers["hessian_evals"] += 1
        shift = hp["levenberg"]
        if rule == "gradient_regularized":
            shift += math.sqrt(L * state.grad_norm)
        if state.grad_norm == 0.0:  # a stationary point: every rule stays put
            state.x = state.x.copy()
            state.buffers["decrement"] = 0.0
            return lr
        factor = self._factor(H, shift, state.t)
        direction = -scipy.linalg.cho_solve(factor, g, check_finite=False)
        decrement = math.sqrt(max(-float(g @ direction), 0.0))
        state.buffers["decrement"] = decrement
        if rule == "aicn":
            alpha = lr * aicn_step_size(decrement, L)
        elif rule == "root":
            alpha = lr * root_newton_step_size(decrement, L, hp["order"])
        elif rule == "universal":
            x = state.x
            x_local = math.sqrt(max(float(x @ (H @ x)) + shift * float(x @ x), 0.0))  # |x|_H, for its rounding
            alpha = self._universal(problem, state, factor, direction, decrement, hp["order"], lr, x_local)
        elif rule == "armijo":
            alpha = self._backtrack(problem, state, direction, lr)
        else:
            alpha = lr
        state.x = state.x + alpha * direction
        return alpha

    def _universal(self, problem, state, factor, direction, decrement, order, lr, x_local):
        """Universal Newton's backtracking on sigma; returns the step taken (``lr`` included).

        A trial costs a gradient and a solve with the factor already made. The test judges the
        step actually taken, ``a = lr / (1 + theta)``: it is the regularised Newton step of
        ``theta' = 1/a - 1``, and the test with ``(a, theta')`` certifies it. A trial with
        ``a >= 1`` (possible only for ``lr > 1``) is the step of no ``theta' > 0`` and is skipped.
        """
        b = state.buffers
        beta = (order - 2.0) / (order - 1.0)
        if self._hp["smoothness"] != b["sigma_set"]:  # moved mid-run: the search restarts from it
            b["sigma"] = b["sigma_set"] = self._hp["smoothness"]
        sigma = b["sigma"]
        sigma_cap = SIGMA_CAP * max(b["sigma_set"], 1.0)
        if lr <= 0.0:  # a schedule at 0: no step, and nothing learnt about sigma
            return 0.0
        G2 = decrement * decrement
        if G2 <= FLOOR_ULPS * EPS * abs(state.loss) or decrement <= FLOOR_ULPS * EPS * x_local:
            # The precision floor: Newton's whole predicted decrease, G^2 / 2, is below the rounding
            # of f, or its step, of local norm G, below the rounding of x (eps |x|_H). The test
            # would judge rounding noise (sigma used to double on it without end, to 1e78). Take
            # the plain Newton step if it does not raise the local gradient norm, else stay put.
            alpha = min(lr, 1.0)
            b["function_evals"] += 1
            g_trial = problem.grad(state.x + alpha * direction)
            if np.all(np.isfinite(g_trial)) and self._dual2(factor, g_trial) <= G2:
                return alpha
            return 0.0
        theta, j = sigma * decrement ** beta, 0
        while theta + (1.0 - lr) <= 0.0 and theta <= 1.0 / EPS:
            # lr / (1 + theta) >= 1 (lr > 1): not a regularised step; start from the first theta that is
            theta, j = 2.0 * theta, j + 1
        for trials in range(1, MAX_TRIALS + 1):
            if trials > 1:
                theta, j = 2.0 * theta, j + 1
            if theta > 1.0 / EPS:  # alpha < eps: every further trial leaves x where it is
                trials -= 1
                break
            one_minus = (theta + (1.0 - lr)) / (1.0 + theta)  # 1 - alpha; exact theta / (1 + theta) at lr = 1
            alpha = lr / (1.0 + theta)
            b["function_evals"] += 1
            g_trial = problem.grad(state.x + alpha * direction)
            if not np.all(np.isfinite(g_trial)):
                continue
            dual = self._dual2(factor, g_trial)
            if one_minus < FLOOR_ULPS * EPS:
                # 1 - alpha is below rounding: the trial is Newton's step to working precision and
                # the test cannot tell theta from 0. Accept it if it halves the local gradient norm.
                accepted = dual <= 0.25 * G2
            else:
                # <grad f(y), n> >= |grad f(y)|*^2 / (2 a theta'), n = -direction, a theta' = 1 - a
                accepted = -float(g_trial @ direction) * 2.0 * one_minus >= dual
            if accepted:
                b["sigma"] = min(max(sigma * 2.0 ** min(j - 1, 1000), SIGMA_FLOOR * min(b["sigma_set"], 1.0)), sigma_cap)
                return alpha
        if trials == 0:
            raise IncompatibleProblem(
                f"at step {state.t} universal Newton's step lr / (1 + theta) stays at or above 1 for every theta "
                f"below 1/eps (lr times the schedule is {lr:.3g}), and a step >= 1 is no regularised Newton step; "
                "x was left where it was. Set lr to 1 or below.")
        raise IncompatibleProblem(
            f"at step {state.t} universal Newton's backtracking found no acceptable step: all {trials} trial "
            f"gradients, from sigma = {sigma:.3g} up to theta = {theta:.3g}, failed its test, so x was left where "
            f"it was (at Newton decrement {decrement:.3g}, loss {state.loss:.17g}). The gradient is not accurate "
            "or not smooth enough there for the test; stop on a larger atol, or use step_rule='armijo'.")

    @staticmethod
    def _dual2(factor, v):
        """``v^T H^{-1} v`` by the Cholesky factor already made."""
        return float(v @ scipy.linalg.cho_solve(factor, v, check_finite=False))

    def _backtrack(self, problem, state, direction, alpha):
        slope = float(state.grad @ direction)  # < 0: the direction is a descent direction
        # Near the minimiser the decrease 1e-4 alpha |slope| falls below the rounding of f: within
        # that noise the test cannot judge, so the first (full) trial passes when it is no higher
        # than f(x) up to rounding. Only the first: a halved step always passes that test and
        # would hide a direction that does not descend.
        noise = 4.0 * EPS * abs(state.loss)
        # At the precision floor the decrease the Newton step promises, |g^T d|, is below the
        # rounding of f (a sum of many squares rounds by more than a few ulps), so no trial can
        # show it: when the full step fails there, the run has converged as far as f can tell and
        # stays put (alpha = 0) without spending the halvings.
        at_floor = -slope <= 1e3 * EPS * max(abs(state.loss), 1e-300)
        first = alpha
        for _ in range(MAX_TRIALS):
            state.buffers["function_evals"] += 1
            trial = problem.value(state.x + alpha * direction)
            # (the decrease as a difference: f(x) + 1e-4 alpha slope would round back to f(x))
            if math.isfinite(trial) and trial - state.loss <= 1e-4 * alpha * slope + (noise if alpha == first else 0.0):
                return alpha
            if at_floor:
                return 0.0
            alpha *= 0.5
        raise IncompatibleProblem(
            f"Armijo's line search found no step along the Newton direction that lowers the loss "
            f"{state.loss:.17g}: {MAX_TRIALS} halvings from {first:g} to {alpha / 0.5:.3g} all failed, so x was left "
            "where it was. The gradient or Hessian does not match the value (check them against finite "
            "differences), or the loss is not smooth here.")

    def method_metrics(self, problem, state):
        b = state.buffers
        out = {"newton_decrement": float(b["decrement"]), "hessian_evals": float(b["hessian_evals"]),
               "function_evals": float(b["function_evals"])}
        if self._hp["step_rule"] == "universal":
            out["sigma"] = float(b["sigma"])
        return out
