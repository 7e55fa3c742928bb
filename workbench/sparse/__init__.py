"""Sparsity knobs: entropic optimal transport (Sinkhorn, Sinkhorn-Newton-Sparse),
sparse regression (ISTA, FISTA, iterative hard thresholding, greedy coordinate
descent) and sparse-matrix diagnostics (pattern images, fill)."""
from .transport_base import TransportMethod, TransportState
from .sinkhorn import Sinkhorn
from .sinkhorn_newton_sparse import SinkhornNewtonSparse, sparsify_plan
from .regression_base import L1Method, RegressionMethod, RegressionState, soft_threshold
from .ista import ISTA
from .fista import FISTA
from .iht import IHT, hard_threshold
from .coordinate_descent import CoordinateDescent
from .patterns import pattern_image, sparsity_summary

__all__ = [
    "TransportMethod", "TransportState", "Sinkhorn", "SinkhornNewtonSparse", "sparsify_plan",
    "L1Method", "RegressionMethod", "RegressionState", "soft_threshold", "ISTA", "FISTA", "IHT",
    "hard_threshold", "CoordinateDescent", "pattern_image", "sparsity_summary",
]
