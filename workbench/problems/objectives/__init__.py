"""Objectives for the optimizers: quadratics, classic test functions, logistic
regression, least squares, matrix sensing and a small MLP.

Every objective is an :class:`Objective` (``kind = "objective"``) with
``value``, ``grad``, ``value_and_grad``, optional ``hvp`` and
``extra_metrics``; each family is registered by name (``workbench list``).
"""
from .base import Objective, FunctionObjective, from_functions
from .quadratic import Quadratic, QuadraticObjective, SpectrumQuadratic, quadratic, spectrum_quadratic
from .test_functions import Rosenbrock, Beale, Rastrigin, rosenbrock, beale, rastrigin
from .logistic import (LogisticObjective, LogisticSeparable, LogisticRegression, logistic_separable,
                       logistic_regression, separable_data)
from .least_squares import LeastSquares, LeastSquaresObjective, least_squares
from .matrix_sensing import MatrixSensing, MatrixSensingObjective, matrix_sensing
from .mlp import MLPDigits, MLPObjective, mlp_digits

__all__ = [
    "Objective", "FunctionObjective", "from_functions",
    "QuadraticObjective", "quadratic", "spectrum_quadratic", "rosenbrock", "beale", "rastrigin",
    "LogisticObjective", "logistic_separable", "logistic_regression", "separable_data",
    "LeastSquaresObjective", "least_squares", "MatrixSensingObjective", "matrix_sensing",
    "MLPObjective", "mlp_digits",
]
