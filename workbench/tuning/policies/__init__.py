"""Policies that choose omega before each instance of a sequence (bandits and comparators)."""
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
