"""Step-size schedules: multipliers on an optimizer's base learning rate.

At step ``t`` (from 0) of a run of ``horizon`` steps an optimizer uses
``lr * schedule(t, horizon)``. :func:`make_schedule` turns ``None``, a name, a
spec dict or a :class:`Schedule` into a schedule; :func:`refine_from_trace`
builds the refined schedule of Defazio et al. from a recorded run.

>>> from workbench.schedules import make_schedule, schedules
>>> schedules()
['constant', 'cosine', 'linear', 'refined', 'step', 'warmup', 'wsd']
>>> make_schedule("cosine")(50, 100)
0.5
"""
from .base import Schedule, get_schedule_class, make_schedule, register_schedule, schedules
from .constant import Constant
from .cosine import Cosine
from .linear import LinearDecay
from .refined import Refined, refine_from_grad_norms, refine_from_trace, refined_profile
from .step import StepDecay
from .warmup import Warmup
from .wsd import WarmupStableDecay

__all__ = [
    "Schedule", "make_schedule", "register_schedule", "schedules", "get_schedule_class",
    "Constant", "StepDecay", "Cosine", "LinearDecay", "Warmup", "WarmupStableDecay", "Refined",
    "refined_profile", "refine_from_grad_norms", "refine_from_trace",
]
