"""Derivative-free optimisation: methods that use function values only.

``ConsensusBasedOptimization`` (CBO) moves a swarm of particles towards a Gibbs-weighted
mean of their positions and explores around it, the particle counterpart of gradient
descent for nonconvex objectives with many local minima; ``EvolutionStrategies`` descends along
an antithetic estimate of the Gaussian-smoothed gradient.
"""
from .consensus import ConsensusBasedOptimization
from .evolution_strategies import EvolutionStrategies

__all__ = ["ConsensusBasedOptimization", "EvolutionStrategies"]
