"""Random sparse symmetric positive definite systems with a chosen condition number."""
from __future__ import annotations

import numpy as np
import param
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh

from ..core import ProblemFactory, TooLarge, register_problem
from .linear_problem import LinearProblem, analyse_matrix

#: Most non-zeros a random SPD matrix may have: S and its transpose are built in memory
#: (about 40 bytes per non-zero at the peak), so 20 million is under a gigabyte.
MAX_NONZEROS = 20_000_000


def _extreme_eigenvalues(S) -> tuple[float, float]:
    n = S.shape[0]
    if n <= 1500:
        ev = np.linalg.eigvalsh(S.toarray())
        return float(ev[0]), float(ev[-1])
    lmax = eigsh(S, k=1, which="LA", return_eigenvectors=False, tol=1e-8)[0]
    lmin = eigsh(S, k=1, which="SA", return_eigenvectors=False, tol=1e-8)[0]
    return float(lmin), float(lmax)


@register_problem("random_spd")
class RandomSPD(ProblemFactory):
    r"""Random sparse SPD matrix ``A = S + a I`` with exact condition number.

    ``S`` is a random symmetric matrix with about ``density * n^2`` non-zeros
    (normal entries, plus its own transpose); the shift ``a`` is chosen so that
    :math:`\kappa(A) = (\lambda_{max}(S) + a) / (\lambda_{min}(S) + a)` equals
    ``condition`` exactly.
    """

    problem_kind = "linear"
    n = param.Integer(default=400, bounds=(2, 200_000), doc="Number of unknowns.")
    density = param.Number(default=0.01, bounds=(0.0, 1.0), doc="Fraction of non-zero off-diagonal entries.")
    condition = param.Number(default=100.0, bounds=(1.0, 1e12), inclusive_bounds=(False, True),
                             doc="Condition number of A (above 1: 1 is the identity, which needs no solver).")
    seed = param.Integer(default=0, bounds=(0, None), doc="Random seed.")

    def build(self) -> LinearProblem:
        n, c = self.n, self.condition
        if self.density * n * n > MAX_NONZEROS:
            # Refused before allocating: n = 200000 at density 0.01 would be 4e8 non-zeros.
            most = int((MAX_NONZEROS / n**2) * 1e6) / 1e6
            raise TooLarge(f"random_spd with n = {n} at density {self.density:g} would have about "
                           f"{self.density * n * n:.2g} non-zeros, over the limit of {MAX_NONZEROS:,}; lower the "
                           f"density (at most {most:g} for this n) or n.")
        rng = np.random.default_rng(self.seed)
        R = sp.random(n, n, density=self.density / 2, random_state=rng, data_rvs=rng.standard_normal, format="csr")
        S = ((R + R.T) / 2).tocsr()
        S.setdiag(S.diagonal())  # make the diagonal explicit so the pattern includes it
        lmin, lmax = _extreme_eigenvalues(S)
        if lmax - lmin < 1e-12:  # empty or scalar S: spread the spectrum on the diagonal
            S = sp.diags(rng.uniform(0, 1, n)).tocsr()
            lmin, lmax = _extreme_eigenvalues(S)
        a = (lmax - c * lmin) / (c - 1)
        A = (S + a * sp.identity(n)).tocsr()
        A.eliminate_zeros()
        props = analyse_matrix(A, spd=True)
        b = rng.standard_normal(n)
        return LinearProblem(A, b, name=f"random_spd(n={n}, density={self.density:g}, kappa={c:g})",
                             properties=props,
                             metadata={"condition": c, "lambda_min": lmin + a, "lambda_max": lmax + a,
                                       "density": A.nnz / n**2})
