"""Matrix Market files and PyAMG's bundled finite-element meshes as problems."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import param

from ..core import InvalidProblem, MalformedInput, ProblemFactory, register_problem
from .linear_problem import LinearProblem, analyse_matrix

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def load_matrix_market(path) -> LinearProblem:
    """Read a square, finite Matrix Market matrix into a problem (``b`` = ones unless a ``*_b.mtx`` sits beside it)."""
    import scipy.io

    p = Path(os.path.expanduser(str(path)))
    if not p.is_absolute() and not p.exists() and (DATA_DIR / p).exists():
        p = DATA_DIR / p
    if not str(path).strip() or not p.exists():
        raise MalformedInput(f"no Matrix Market file at {str(path)!r}; give the path of a .mtx file.")
    if p.is_dir():
        raise MalformedInput(f"{str(path)!r} is a folder; give the path of a .mtx file in it.")
    try:
        A = scipy.io.mmread(str(p))
    except Exception as exc:
        raise MalformedInput(f"{p.name} is not a readable Matrix Market file ({exc}); check its header line.") from None
    if np.ndim(A) != 2 or A.shape[0] != A.shape[1]:
        raise InvalidProblem(f"{p.name} holds a {getattr(A, 'shape', '?')} matrix; a linear system needs a square one.")
    if np.iscomplexobj(A.data if hasattr(A, "data") else A):
        raise InvalidProblem(f"{p.name} is complex; the workbench solves real systems.")
    b = None
    b_path = p.with_name(p.stem + "_b.mtx")
    if b_path.exists():
        try:
            rhs = scipy.io.mmread(str(b_path))
        except Exception as exc:
            raise MalformedInput(f"{b_path.name}, the right-hand side beside {p.name}, is not a readable Matrix "
                                 f"Market file ({exc}); fix or remove it (b is then all ones).") from None
        b = np.asarray(rhs.todense() if hasattr(rhs, "todense") else rhs).ravel()
        if np.iscomplexobj(b):
            raise InvalidProblem(f"{b_path.name} is complex; the workbench solves real systems.")
    return LinearProblem(A, b, name=p.stem)


@register_problem("matrix_market")
class MatrixMarket(ProblemFactory):
    """A matrix read from a Matrix Market (.mtx) file; names in the package's data/ folder also work."""

    problem_kind = "linear"
    path = param.String(default="airfoil.mtx", doc="Path of a .mtx file (or a file name in workbench/data).")

    def build(self) -> LinearProblem:
        return load_matrix_market(self.path)


@register_problem("pyamg_mesh")
class PyAMGMesh(ProblemFactory):
    """A small finite-element matrix that ships with PyAMG (real meshes, unstructured)."""

    problem_kind = "linear"
    mesh = param.Selector(default="airfoil", objects=["airfoil", "bar", "knot", "unit_cube", "recirc_flow"],
                          doc="Which PyAMG example matrix.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of the random right-hand side.")

    def build(self) -> LinearProblem:
        from pyamg.gallery import load_example

        data = load_example(self.mesh)
        A = data["A"].tocsr().astype(float)
        b = np.random.default_rng(self.seed).standard_normal(A.shape[0])
        meta = {}
        if "vertices" in data:
            meta["vertices"] = np.asarray(data["vertices"])
        return LinearProblem(A, b, name=f"pyamg:{self.mesh}", properties=analyse_matrix(A), metadata=meta)
