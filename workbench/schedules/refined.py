"""The refined schedule of Defazio, Cutkosky, Mehta and Mishchenko, and record-then-refine."""
from __future__ import annotations

import numpy as np
import param

from ..core.errors import InvalidParameter, MalformedInput
from .base import Schedule, register_schedule

__all__ = ["Refined", "refined_profile", "refine_from_grad_norms", "refine_from_trace"]


@register_schedule("refined")
class Refined(Schedule):
    r"""A schedule refined from the gradient norms of an earlier run.

    Given the gradient norms :math:`G_0, \dots, G_{n-1}` recorded in a run of
    :math:`n` steps (smoothed by a median filter), the refined schedule is

    .. math::

        w_t = G_t^{-2} \ (\text{SGD-like}) \quad\text{or}\quad w_t = G_t^{-1}\ (\text{Adam-like}),
        \qquad \eta_t \propto w_t \sum_{s > t} w_s,

    normalised to a maximum of 1 (:func:`refined_profile` computes it). It is
    the minimiser of the paper's last-iterate bound for the observed gradient
    norms. When the norms are constant, :math:`\eta_t \propto n - 1 - t`:
    exactly linear decay. Growing norms early produce a warm-up, and the sum
    over the remaining steps produces the fast final annealing.

    The ``profile`` of ``n`` values is mapped onto any horizon ``T`` by linear
    interpolation, position :math:`t (n - 1) / T`: the profile's first value at
    :math:`t = 0`, its last (0) at :math:`t = T`. So a run of the same length
    (or any other length) can reuse it, and a constant-norm profile gives
    :math:`1 - t/T` exactly.

    Examples
    --------
    >>> import numpy as np
    >>> s = refine_from_grad_norms(np.ones(50))
    >>> s(0, 100), round(s(25, 100), 12), s(100, 100)
    (1.0, 0.75, 0.0)

    References
    ----------
    A. Defazio, A. Cutkosky, H. Mehta, K. Mishchenko, "When, Why and How Much?
    Adaptive Learning Rate Scheduling by Refinement", arXiv:2310.07831 (2023),
    Algorithms 1 (SGD) and 2 (Adam).
    """

    profile = param.Array(default=np.ones(1), doc="The refined multipliers over the recorded run, max 1.")

    def __init__(self, **params):
        if "profile" in params and not isinstance(params["profile"], np.ndarray):
            try:
                params["profile"] = np.asarray(params["profile"], dtype=float)
            except (TypeError, ValueError):
                raise InvalidParameter("a refined schedule's profile is a list of numbers.") from None
        super().__init__(**params)
        self._profile()  # refuse a bad profile here, not at the first step

    def _check_setting(self, name, value):
        if name == "profile":
            self._profile(value)

    def describe(self) -> str:
        p = np.asarray(self.profile, dtype=float).ravel()
        return f"refined({p.size} recorded steps, peak at step {int(np.argmax(p)) if p.size else 0})"

    def _profile(self, profile=None) -> np.ndarray:
        p = np.asarray(self.profile if profile is None else profile, dtype=float).ravel()
        if p.size == 0 or not np.all(np.isfinite(p)) or np.any(p < 0):
            raise InvalidParameter(
                "a refined schedule's profile must be a non-empty array of finite values >= 0; "
                "build it with refine_from_trace(trace) or refine_from_grad_norms(norms)."
            )
        if not np.any(p > 0):
            raise InvalidParameter("a refined schedule's profile is all zeros, a step size of 0 at every step; "
                                   "build it with refine_from_trace(trace) or refine_from_grad_norms(norms).")
        if p.max() > 1:
            # (a multiplier above 1 would exceed the base lr; every schedule stays in [0, 1])
            raise InvalidParameter(f"a refined schedule's profile is a multiplier, at most 1, and this one peaks at "
                                   f"{p.max():g}; divide it by its maximum, or build it with "
                                   "refine_from_trace(trace) or refine_from_grad_norms(norms).")
        return p

    def _multiplier(self, t, horizon):
        p = self._profile()
        if p.size == 1:
            return np.full_like(t, p[0])
        u = np.minimum(t, horizon) * (p.size - 1) / horizon
        return np.interp(u, np.arange(p.size, dtype=float), p)


def refined_profile(grad_norms, adam_like: bool = False, filter_width: int | None = None,
                    filter_fraction: float = 0.1) -> np.ndarray:
    r"""The refined step-size profile :math:`\eta_t \propto w_t \sum_{s>t} w_s`, max 1.

    Parameters
    ----------
    grad_norms : array_like
        Gradient norms :math:`G_t` of the steps of a run, in order. NaN entries
        (rows where nothing was recorded) are dropped. The norms are cut at the
        first exact zero: an iterate with a zero gradient is a stationary point,
        so the run had converged there and the later steps did no work (a
        weight :math:`G_t^{-2}` for them would be infinite, or, floored, would
        swamp every step that did). The profile then covers the steps before
        the zero, and is stretched over the horizon like any other profile.
    adam_like : bool
        ``False``: :math:`w_t = G_t^{-2}` (SGD, GD, heavy ball). ``True``:
        :math:`w_t = G_t^{-1}`, the paper's choice for Adam-like methods, whose
        update size does not scale with the gradient. (The paper uses the
        :math:`\ell_1` norm for Adam; pass whatever norm your run recorded.)
    filter_width : int, optional
        Width of the median filter applied to the norms
        (:func:`scipy.ndimage.median_filter`, edges extended by the nearest
        value). The paper smooths with a median filter because single noisy
        gradient norms would otherwise put spikes into the schedule; the width
        is not pinned down there, and the default chosen here is
        ``filter_fraction`` (10 %) of the run, made odd.
    filter_fraction : float
        Filter width as a fraction of the run, used when ``filter_width`` is None.

    Returns
    -------
    numpy.ndarray
        One multiplier per recorded step before the first zero norm, maximum 1,
        last value 0.

    Examples
    --------
    >>> import numpy as np
    >>> refined_profile([1.0, 1.0, 1.0, 0.0, 0.0], filter_width=1)  # converged at step 3
    array([1. , 0.5, 0. ])
    """
    from scipy.ndimage import median_filter

    G = np.asarray(grad_norms, dtype=float).ravel()
    G = G[~np.isnan(G)]
    if G.size < 2:
        raise MalformedInput(
            "refinement needs the gradient norms of at least 2 steps; record a longer run first."
        )
    if not np.all(np.isfinite(G)) or np.any(G < 0):
        raise MalformedInput(
            "the recorded gradient norms contain infinite or negative values (did the run diverge?); "
            "refine from a run that finished with finite gradients."
        )
    if G.max() == 0:
        raise MalformedInput("all recorded gradient norms are zero: the run started at a stationary point, "
                             "so there is nothing to refine.")
    zeros = np.flatnonzero(G == 0)
    if zeros.size:
        # The run reached an exactly stationary iterate at step zeros[0]: it had converged,
        # and only the steps before it carry information about the problem.
        if zeros[0] < 2:
            where = ("the run started at a stationary point" if zeros[0] == 0
                     else "the run had converged after 1 step")
            raise MalformedInput(
                f"the gradient norm is exactly 0 at step {zeros[0]}: {where}, which leaves too few steps to "
                "refine (refinement needs the norms of at least 2 steps before the first zero); record a run "
                "from a starting point further from the solution."
            )
        G = G[: zeros[0]]
    if filter_width is None:
        if not 0 <= filter_fraction < 1:
            raise InvalidParameter(f"filter_fraction is a fraction in [0, 1), got {filter_fraction}.")
        filter_width = int(round(filter_fraction * G.size)) | 1  # odd, so the window is centred
    if isinstance(filter_width, bool) or not isinstance(filter_width, (int, np.integer)) or filter_width < 1:
        raise InvalidParameter(f"filter_width must be a positive whole number of steps, got {filter_width!r}.")
    G = median_filter(G, size=int(filter_width), mode="nearest")  # (of positive norms: stays positive)
    # In logs, so that neither G^-2 of tiny norms overflows nor the weights of large ones
    # underflow to 0 (norms spanning hundreds of orders of magnitude still give a profile).
    logw = -(1.0 if adam_like else 2.0) * (np.log(G) - np.log(G.min()))
    logtail = np.r_[np.logaddexp.accumulate(logw[::-1])[::-1][1:], -np.inf]  # log sum_{s > t} w_s
    logeta = logw + logtail
    return np.exp(logeta - logeta.max())


def refine_from_grad_norms(grad_norms, adam_like: bool = False, filter_width: int | None = None,
                           filter_fraction: float = 0.1) -> Refined:
    """A :class:`Refined` schedule from a sequence of gradient norms (see :func:`refined_profile`)."""
    return Refined(profile=refined_profile(grad_norms, adam_like, filter_width, filter_fraction))


def refine_from_trace(trace, adam_like: bool = False, column: str = "grad_norm",
                      filter_width: int | None = None, filter_fraction: float = 0.1,
                      divergence: float | None = 1e4) -> Refined:
    """Record-then-refine: the refined schedule from a finished run's trace.

    Parameters
    ----------
    trace : workbench.core.Trace or workbench.core.Result
        The trace (or the result holding it) of a run of an optimizer, which
        records the metric ``column`` (``"grad_norm"``) every iteration.
    adam_like : bool
        ``True`` for Adam-like optimizers (:math:`w_t = G_t^{-1}`).
    divergence : float or None
        A recording is refused as diverged when some norm exceeds ``divergence``
        times the first one, or, where the trace has a ``"loss"`` column, the
        loss grew by more than ``divergence**2`` x max(|initial loss|, 1), the
        run loop's own test with its factor 1e8 (``None`` switches both off). The
        default 1e4 is the square root of that factor: on a quadratic the loss
        grows like the square of the gradient norm.

    Row ``t`` of the trace describes iterate :math:`x_t`, whose gradient step
    ``t`` used; the last row is the final iterate, whose gradient no step used,
    so it is dropped from the profile.

    A :class:`~workbench.core.Result` that ended diverged, nonfinite or failed
    is refused. So is a bare Trace whose norms (the final row included) are
    infinite or grew past ``divergence`` x the first norm, or whose loss blew
    up as above: a trace carries no status, and the norms of a run that blew
    up describe the blow-up, not the problem.

    Examples
    --------
    >>> import numpy as np
    >>> from workbench.core import Trace
    >>> trace = Trace.from_dict({"grad_norm": np.ones(11)})
    >>> s = refine_from_trace(trace)
    >>> s(5, 10)
    0.5
    """
    status = getattr(getattr(trace, "status", None), "label", None)
    if status in ("diverged", "nonfinite", "failed"):
        # The gradient norms of a run that blew up describe the blow-up, not the problem.
        raise MalformedInput(f"this run ended {status} ({trace.message}); refine from a run that did not, "
                             "e.g. with a smaller lr.")
    trace = getattr(trace, "trace", trace)
    if not hasattr(trace, "columns") or column not in trace:
        have = sorted(getattr(trace, "columns", [])) if hasattr(trace, "columns") else type(trace).__name__
        raise MalformedInput(
            f"refinement reads the {column!r} column of a run's trace, and this trace has {have}; "
            "run an optimizer (its metrics include 'grad_norm') and pass result.trace."
        )
    norms = np.asarray(trace[column], dtype=float)
    if divergence is not None and not (isinstance(divergence, (int, float, np.integer, np.floating))
                                       and not isinstance(divergence, bool) and divergence >= 1):
        raise InvalidParameter(f"divergence is a growth factor of at least 1 (e.g. 1e4), or None to switch "
                               f"the test off; got {divergence!r}.")
    if np.any(np.isinf(norms)):
        at = int(np.flatnonzero(np.isinf(norms))[0])
        raise MalformedInput(f"the recorded {column} is infinite at row {at}: the run blew up; refine from a "
                             "run that did not, e.g. with a smaller lr.")
    finite = norms[np.isfinite(norms)]
    if divergence is not None and finite.size and finite[0] > 0 and finite.max() > divergence * finite[0]:
        at = int(np.flatnonzero(norms == finite.max())[0])
        raise MalformedInput(
            f"the recorded {column} grew from {finite[0]:.3e} to {finite.max():.3e} (row {at}), more than "
            f"{divergence:g} x: the run diverged; refine from a run that did not, e.g. with a smaller lr "
            "(or pass divergence=None if that growth is genuine)."
        )
    if divergence is not None and "loss" in trace:
        # The run loop's own guard on an optimizer's loss (growth by divergence^2 = 1e8 x
        # max(|initial loss|, 1)): the gradient norm of a blow-up can grow far slower.
        loss = np.asarray(trace["loss"], dtype=float)
        loss = loss[~np.isnan(loss)]
        if loss.size and (np.any(np.isinf(loss))
                          or loss.max() - loss[0] > divergence ** 2 * max(abs(loss[0]), 1.0)):
            raise MalformedInput(
                f"the recorded loss grew from {loss[0]:.3e} to {loss.max():.3e}, more than {divergence ** 2:g} x "
                "max(|its initial value|, 1): the run diverged; refine from a run that did not, e.g. with a "
                "smaller lr (or pass divergence=None if that growth is genuine)."
            )
    if norms.size >= 3:
        norms = norms[:-1]
    return refine_from_grad_norms(norms, adam_like, filter_width, filter_fraction)
