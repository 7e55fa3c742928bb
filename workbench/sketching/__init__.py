"""Randomized sketching solvers of ``A x = b`` (randomized Kaczmarz, sketch-and-project) and an SQP
method for equality-constrained problems whose Newton systems they solve (``SketchedSQP``).

Each step projects the iterate onto the solutions of a random sketch ``S^T A x = S^T b`` of
the system; the error then falls in expectation at a rate set by the sketch distribution,
which the tests check against the bound of Strohmer and Vershynin for Kaczmarz.
"""
from .kaczmarz import RandomizedKaczmarz
from .sketch_and_project import SketchAndProject
from .sketched_sqp import SketchedSQP

__all__ = ["RandomizedKaczmarz", "SketchAndProject", "SketchedSQP"]
