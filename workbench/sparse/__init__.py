"""Sparsity knobs: entropic optimal transport (Sinkhorn, Sinkhorn-Newton-Sparse),
sparse regression (ISTA, FISTA, iterative hard thresholding, greedy coordinate
descent) and sparse-matrix diagnostics (pattern images, fill)."""
from .transport_base import TransportMethod, TransportState
from .sinkhorn import Sinkhorn
from .sinkhorn_newton_sparse import SinkhornNewtonSparse, sparsify_plan

__all__ = ["TransportMethod", "TransportState", "Sinkhorn", "SinkhornNewtonSparse", "sparsify_plan"]
