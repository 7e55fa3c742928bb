"""Run status: an enum whose members carry a human sentence."""
from __future__ import annotations

import enum

__all__ = ["Status"]


class Status(enum.Enum):
    """How a run stands or ended. ``status.sentence`` explains it to a person."""

    RUNNING = ("running", "The run has not finished yet.")
    CONVERGED = ("converged", "Converged: the stopping tolerance was reached.")
    MAX_STEPS = ("max_steps", "Stopped at the step limit before reaching the tolerance.")
    MAX_TIME = ("max_time", "Stopped at the wall-time budget before reaching the tolerance.")
    DIVERGED = ("diverged", "Diverged: the monitored quantity grew far beyond its starting value.")
    NONFINITE = ("nonfinite", "Stopped: the iterate or a diagnostic became NaN or infinite.")
    STOPPED = ("stopped", "Stopped by the user.")
    FAILED = ("failed", "Failed: the method raised an error.")

    def __init__(self, label: str, sentence: str):
        self.label = label
        self.sentence = sentence

    @property
    def finished(self) -> bool:
        return self is not Status.RUNNING

    @property
    def ok(self) -> bool:
        return self is Status.CONVERGED

    @classmethod
    def from_label(cls, label: str) -> "Status":
        for member in cls:
            if member.label == label:
                return member
        raise ValueError(f"unknown status {label!r}")

    def __str__(self) -> str:
        return self.label
