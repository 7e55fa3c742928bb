"""Entropic optimal transport by Sinkhorn's matrix scaling, in the log domain."""
from __future__ import annotations

from ..core import register_method
from .transport_base import TransportMethod, TransportState

__all__ = ["Sinkhorn"]


@register_method("sinkhorn", family="transport")
class Sinkhorn(TransportMethod):
    r"""Sinkhorn iterations on the dual potentials (log-domain, stable for small epsilon).

    .. math::
        f_i \leftarrow \varepsilon\log a_i - \varepsilon\log\sum_j e^{(g_j - C_{ij})/\varepsilon},\qquad
        g_j \leftarrow \varepsilon\log b_j - \varepsilon\log\sum_i e^{(f_i - C_{ij})/\varepsilon}

    One step is one ``f`` and one ``g`` update (two passes over the plan).
    The plan is :math:`P_{ij} = e^{(f_i + g_j - C_{ij})/\varepsilon}`; the stop
    metric ``marginal_error`` is :math:`\|P1 - a\|_1 + \|P^T1 - b\|_1`. The
    convergence is linear with a rate that degrades like
    :math:`1 - e^{-\|C\|_\infty/\varepsilon}` as epsilon shrinks, which is what
    Sinkhorn-Newton-Sparse repairs.

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.sparse.Sinkhorn(reg=0.05), wb.problems.point_clouds(n=60), rtol=1e-8)
    >>> res.status.label
    'converged'

    References
    ----------
    M. Cuturi, *Sinkhorn distances: lightspeed computation of optimal transport*, NeurIPS 2013.
    G. Peyre, M. Cuturi, *Computational Optimal Transport*, 2019, section 4.4 (log domain).
    """

    def step(self, problem, state: TransportState) -> TransportState:
        self.check_params()
        return self.sinkhorn_step(problem, state)
