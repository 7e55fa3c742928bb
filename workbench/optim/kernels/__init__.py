"""Fused numba kernels for the hottest optimizer updates, each with a numpy reference."""
from .adam import adam_update, adam_update_reference

__all__ = ["adam_update", "adam_update_reference"]
