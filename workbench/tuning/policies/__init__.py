"""Policies that choose omega before each instance of a sequence (bandits and comparators).

Every policy follows the protocol of :class:`Policy`: ``reset(omegas, ...)`` once,
then per instance ``choose(context) -> omega`` and ``observe(iterations)``.
:data:`POLICIES` maps the names that ``learning_to_relax`` and the CLI accept to
the classes; :func:`parse_policy` reads a name from the command line.

Examples
--------
>>> import numpy as np
>>> pol = POLICIES["tsallis_inf"](); pol.reset(np.linspace(1, 1.95, 20), seed=0)
>>> omega = pol.choose(None); pol.observe(100)
>>> pol.t, pol.last_arm == int(np.flatnonzero(pol.omegas == omega)[0])
(1, True)

References
----------
M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
J. Zimmert, Y. Seldin. *Tsallis-INF: An optimal algorithm for stochastic and
adversarial bandits*. JMLR 22 (2021).
"""
from __future__ import annotations

from ...core import InvalidParameter, UnknownName
from .base import Policy, sample_index
from .binned import BinnedTsallisINF
from .chebcb import ChebCB, chebyshev_features
from .comparators import BestFixedInHindsight, FixedOmega, GaussSeidelPolicy, InstanceOptimal
from .tsallis_inf import TsallisINF, tsallis_probabilities

#: Policies by name (the ``policy`` parameter of ``learning_to_relax``, the CLI's ``--policies``).
POLICIES = {
    "tsallis_inf": TsallisINF,
    "chebcb": ChebCB,
    "binned_tsallis_inf": BinnedTsallisINF,
    "fixed": FixedOmega,
    "gauss_seidel": GaussSeidelPolicy,
    "best_fixed": BestFixedInHindsight,
    "instance_optimal": InstanceOptimal,
}

#: Short names accepted on the command line.
ALIASES = {"tsallis": "tsallis_inf", "tinf": "tsallis_inf", "cheb": "chebcb", "binned": "binned_tsallis_inf",
           "gs": "gauss_seidel", "best": "best_fixed", "optimal": "instance_optimal", "opt": "instance_optimal"}


def parse_policy(text: str) -> tuple[str, dict]:
    """A policy named on the command line, as ``(name, parameters)``.

    Examples
    --------
    >>> parse_policy("fixed:1.8")
    ('fixed', {'omega': 1.8})
    >>> parse_policy("tsallis")
    ('tsallis_inf', {})
    """
    name, colon, arg = str(text).strip().partition(":")
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in POLICIES:
        raise UnknownName(f"there is no policy called {name!r}; choose from {', '.join(POLICIES)} "
                          "(fixed takes an omega, e.g. fixed:1.8).")
    params = {}
    if colon and not arg.strip():
        raise InvalidParameter(f"{text!r} ends in ':' without a value; write e.g. fixed:1.8, or {name} alone.")
    if arg:
        if key != "fixed":
            raise InvalidParameter(f"only the fixed policy takes a value (fixed:1.8), not {text!r}.")
        try:
            params["omega"] = float(arg)
        except ValueError:
            raise InvalidParameter(f"{arg!r} is not a number; write e.g. fixed:1.8.") from None
        if not 0 < params["omega"] < 2:
            raise InvalidParameter(f"omega must lie in (0, 2) for SOR, got {arg}.")
    return key, params


__all__ = ["Policy", "TsallisINF", "ChebCB", "BinnedTsallisINF", "FixedOmega", "GaussSeidelPolicy",
           "BestFixedInHindsight", "InstanceOptimal", "POLICIES", "parse_policy", "sample_index",
           "tsallis_probabilities", "chebyshev_features"]
