"""The problem gallery: linear systems, sequences of systems, objectives, datasets.

Every problem is registered by name (``workbench list``); the functions here
are shortcuts that build one with its spec attached.

Examples
--------
>>> import workbench as wb
>>> prob = wb.problems.poisson2d(16)
>>> prob.n, sorted(prob.properties)[:2]
(256, ['consistently_ordered', 'diagonally_dominant'])
"""
from __future__ import annotations

from ..core.registry import get_problem
from .linear_problem import LinearProblem, analyse_matrix, from_matrix
from .matrix_market import load_matrix_market
from .sequences import LinearSequence
from . import stencils, random_spd, matrix_market, sequences  # noqa: F401  (registration)

import importlib as _importlib

#: Further gallery modules, each owned by one family; their ``__all__`` is re-exported here.
_OPTIONAL_MODULES = ("heat_sequence", "anisotropic_sequence", "objectives", "transport", "regression", "sparse_systems",
                     "constrained", "convection_sequence", "operators", "bilevel")
_optional_names: list[str] = []
for _name in _OPTIONAL_MODULES:
    try:
        _module = _importlib.import_module(f".{_name}", __name__)
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{__name__}.{_name}":
            raise
        continue
    globals().update({_n: getattr(_module, _n) for _n in getattr(_module, "__all__", ())})
    _optional_names.extend(getattr(_module, "__all__", ()))


def poisson1d(n: int = 64, **kw) -> LinearProblem:
    """1-D Poisson, ``n`` interior points."""
    return get_problem("poisson1d", n=n, **kw)


def poisson2d(n: int = 32, **kw) -> LinearProblem:
    """2-D Poisson (5-point stencil), ``n x n`` interior grid."""
    return get_problem("poisson2d", n=n, **kw)


def poisson3d(n: int = 16, **kw) -> LinearProblem:
    """3-D Poisson (7-point stencil), ``n^3`` unknowns."""
    return get_problem("poisson3d", n=n, **kw)


def anisotropic2d(n: int = 32, epsilon: float = 0.1, **kw) -> LinearProblem:
    return get_problem("anisotropic2d", n=n, epsilon=epsilon, **kw)


def convection_diffusion2d(n: int = 32, peclet: float = 0.5, **kw) -> LinearProblem:
    return get_problem("convection_diffusion2d", n=n, peclet=peclet, **kw)


def random_spd_matrix(n: int = 400, density: float = 0.01, condition: float = 100.0, **kw) -> LinearProblem:
    return get_problem("random_spd", n=n, density=density, condition=condition, **kw)


def matrix_market_file(path: str) -> LinearProblem:
    return get_problem("matrix_market", path=str(path))


def pyamg_mesh(mesh: str = "airfoil", **kw) -> LinearProblem:
    return get_problem("pyamg_mesh", mesh=mesh, **kw)


def shifted_laplacian_sequence(setting: str = "high", m: int = 10, instances: int = 5000, **kw):
    """The Learning-to-Relax sequence :math:`A_t = A + c_t I` (:class:`~workbench.problems.sequences.ShiftedLaplacianSequence`).

    ``setting`` is ``"high"`` (Beta(0.5, 1.5) shifts), ``"low"`` (Beta(2, 6)) or
    ``"custom"`` (``alpha=``, ``beta=``); ``seed=`` seeds shifts and right-hand sides.

    Examples
    --------
    >>> import workbench as wb
    >>> seq = wb.problems.shifted_laplacian_sequence("low", instances=10, seed=3)
    >>> len(seq), bool(-0.15 <= seq.contexts.min() and seq.contexts.max() <= 0.45)
    (10, True)
    """
    return get_problem("shifted_laplacian_sequence", setting=setting, m=m, instances=instances, **kw)


__all__ = [
    "LinearProblem", "LinearSequence", "analyse_matrix", "from_matrix", "load_matrix_market",
    "poisson1d", "poisson2d", "poisson3d", "anisotropic2d", "convection_diffusion2d",
    "random_spd_matrix", "matrix_market_file", "pyamg_mesh", "shifted_laplacian_sequence",
    *_optional_names,
]
