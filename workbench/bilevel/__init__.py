"""Bilevel optimisation: an upper problem whose objective depends on the solution of a lower one.

``PenaltyBilevel`` replaces the lower problem by a penalty on its value gap and uses gradients
only (a single-loop method when ``inner_steps = 1``); ``ImplicitHypergradient`` descends the
true hypergradient from the implicit function theorem, with the lower level's Hessians, and is
the reference the penalty methods are measured against.
"""
from .implicit_hypergradient import ImplicitHypergradient
from .penalty import PenaltyBilevel

__all__ = ["ImplicitHypergradient", "PenaltyBilevel"]
