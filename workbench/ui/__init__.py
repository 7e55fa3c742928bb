"""The UI layer: Panel components and the ipywidgets adapter; no computation here.

* :func:`controls` -- Panel widgets from a method's or problem's ``param`` declarations;
* :class:`LiveRun` -- one method, live: play / pause / step / reset, speed, plots, status;
* :class:`Race` -- several methods on one problem, overlaid;
* :class:`OmegaLandscape` -- iterations-to-tolerance vs omega, filled in while you watch;
* :func:`ipywidgets_controls`, :class:`NotebookRun` -- the same for Jupyter, on ipywidgets;
* :mod:`workbench.ui.overlays` -- theory lines (predicted rates);
* :mod:`workbench.ui.server` -- page discovery and the server behind ``workbench serve``.

Names load lazily: ``from workbench.ui import ipywidgets_controls`` does not import Panel.
See ``docs/ui.md``.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "controls": ".param_widgets",
    "LiveRun": ".live",
    "Race": ".live",
    "Lane": ".live",
    "OmegaLandscape": ".landscape",
    "ConvergencePlot": ".plots",
    "predicted_rate": ".overlays",
    "linear_rate": ".overlays",
    "Line": ".overlays",
    "ipywidgets_controls": ".notebook",
    "NotebookRun": ".notebook",
    "IterateBars": ".bilevel_views",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workbench.ui' has no attribute {name!r}")
