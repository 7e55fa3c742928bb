"""Fixed points and games: methods for ``F(z) = 0`` with F monotone (saddle points of
convex-concave games): gradient descent-ascent, extragradient, optimistic GDA, the
extra-anchored gradient and Halpern's iteration.

Each reports the residual ``||F(z)||``, a computable exit test that needs no known solution.
"""
from .anchored_extragradient import AnchoredExtragradient
from .extragradient import Extragradient
from .gda import GDA
from .halpern import Halpern
from .optimistic import OptimisticGDA

__all__ = ["GDA", "Extragradient", "OptimisticGDA", "AnchoredExtragradient", "Halpern"]
