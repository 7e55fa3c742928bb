"""Controls generated from ``param`` declarations: Panel widgets (``pn.Param``).

A method's hyperparameters and a problem's parameters are ``param``
parameters with bounds, steps and docs; :func:`controls` turns them into
Panel widgets, so a new method gets its controls for free. Sliders are
*throttled*: the parameter changes when the user releases the slider, not on
every pixel of the drag, so a running solver sees one clean change.

Widgets write straight into the object, and a method's ``step`` reads its
params at call time: moving a slider mid-run acts on the next step. A value the
object refuses (a typed ``lr = 0``, step milestones past the horizon) changes
nothing: the widget goes back to the object's value and the refusal's sentence
is shown under it (:func:`refuse_on_the_page`).
"""
from __future__ import annotations

import html
import logging
import math
import re
from typing import Iterable

import numpy as np
import param

__all__ = ["controls", "widget_overrides", "refuse_on_the_page"]

log = logging.getLogger(__name__)


def _public(obj, parameters: Iterable[str] | None) -> list[str]:
    names = []
    for name, p in obj.param.objects("existing").items():
        if name == "name" or (p.precedence is not None and p.precedence < 0):
            continue
        if parameters is not None and name not in parameters:
            continue
        names.append(name)
    if parameters is not None:
        # keep the caller's order
        names = [n for n in parameters if n in names]
    return names


def css_slug(text: str) -> str:
    """``"Gauss-Seidel"`` -> ``"gauss-seidel"``: a label as a CSS class fragment."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def slider_bounds(p: param.Number) -> tuple:
    """``(lo, hi, inclusive)``: what a slider of ``p`` spans. Its hard bounds; for a number
    with none (Sinkhorn's ``reg``, whose checks refuse what is out of range), its soft bounds.
    An end that is None or infinite means no slider."""
    lo, hi = p.bounds if p.bounds is not None else (None, None)
    if lo is None and hi is None and p.softbounds is not None:
        soft_lo, soft_hi = p.softbounds
        return soft_lo, soft_hi, (True, True)
    return lo, hi, getattr(p, "inclusive_bounds", (True, True))


def slider_range(p: param.Number) -> tuple[float, float, float]:
    """``(start, end, step)`` of a slider over a finitely bounded number (:func:`slider_bounds`):
    the param's step (else 1 for integers, 1/200 of the range), ends moved in by one step at
    exclusive bounds."""
    lo, hi, (inc_lo, inc_hi) = slider_bounds(p)
    integer = isinstance(p, param.Integer)
    step = p.step if getattr(p, "step", None) else (1 if integer else (hi - lo) / 200)
    return (lo if inc_lo else lo + step), (hi if inc_hi else hi - step), step


#: Integer ranges longer than this get a box: a slider over millions of values is unusable.
MAX_INT_SLIDER = 10_000
#: Positive float ranges wider than this ratio get a box: a linear slider over many decades
#: (a condition number from 1 to 1e12 in steps of 5e9) cannot land on 10 or 100.
MAX_SLIDER_RATIO = 1e4
#: A fraction or tolerance (a float in [0, 1]) whose value is at most this fraction of its upper
#: end (or within ten steps of 0) gets a box: it is read in decades (a tolerance, a weight, a
#: density). A wider range starting at 0 (a Peclet number in [0, 100]) keeps its slider.
SMALL_FRACTION = 0.1


def slider_grid(p: param.Number, value) -> tuple[float, float, float] | None:
    """``(start, end, step)`` when a slider can show ``value`` of ``p`` exactly, else None: a box.

    No slider for a number unbounded on one side, one that may be unset (None), an integer
    range longer than :data:`MAX_INT_SLIDER`, a value off the slider's grid (Adam's
    beta2 = 0.999 on a [0, 0.995] grid), a positive float range wider than
    :data:`MAX_SLIDER_RATIO`, or a float in [0, 1] whose positive value lies in the bottom
    :data:`SMALL_FRACTION` of its range or within ten steps of 0 (a tolerance of 0.1 in (0, 1)). Panel's :func:`controls` and the notebook's
    ``ipywidgets_controls`` both decide with it (it imports no GUI library)."""
    if value is None or p.allow_None:
        return None
    lo, hi, _ = slider_bounds(p)
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    integer = isinstance(p, param.Integer)
    start, end, step = slider_range(p)
    if integer and end - start > MAX_INT_SLIDER:
        return None
    on_grid = (start - 1e-12 <= value <= end + 1e-12
               and abs((value - start) / step - round((value - start) / step)) < 1e-6)
    if not on_grid or (not integer and lo > 0 and hi / lo > MAX_SLIDER_RATIO):
        return None
    if (not integer and lo == 0 and hi <= 1 and value > 0
            and value <= max(10 * step, SMALL_FRACTION * hi) * (1 + 1e-9)):
        # A scale bounded at 0 whose value sits in the bottom of the range (SketchedSQP's
        # inner_accuracy = 0.1 in (0, 1), a LASSO weight of 0.05, a density of 0.01): read in
        # decades, where a linear slider in steps of 0.005 cannot pick 1e-3 (it lands on a
        # step or the slider's end, and that approximation becomes the value). A box.
        return None
    return start, end, step


def _slider_label_format():
    """A float slider's label: four significant digits, trailing zeros dropped (omega 1.5,
    reg 0.0005, cg_rtol 1e-06), where a fixed number of decimals shows a small value as 0."""
    from bokeh.models import PrintfTickFormatter

    return PrintfTickFormatter(format="%.4g")


def _box_step(p: param.Number, value) -> float | None:
    """The arrow step of a float box: the param's step, else the order of magnitude of its
    value or of its distance to the nearer hard bound, whichever is smaller (cg_rtol = 0.01
    steps by 0.01, lr = 3e-4 by 1e-4, beta2 = 0.999 in [0, 1) by 0.001), where the box's own
    0.1 took 0.01 to 0.11 and beta2 straight to the end; None (the box's default) for an
    unset, zero or infinite value."""
    if getattr(p, "step", None):
        return float(p.step)
    if value is None or not math.isfinite(value) or value == 0:
        return None
    scales = [abs(value)] + [abs(value - b) for b in (p.bounds or ())
                             if b is not None and math.isfinite(b) and b != value]
    # 1 - 0.999 is 0.000999...: the small allowance keeps that on the decade of 0.001
    return float(10.0 ** math.floor(math.log10(min(scales)) + 1e-9))


def _allowed_ends(p: param.Number) -> tuple[float | None, float | None]:
    """The smallest and largest values ``p`` allows: its finite hard bounds, an exclusive one
    moved to the nearest float inside (beta2 in [0, 1) gives 0 and 0.9999999999999999); None
    for a side with no finite bound."""
    lo, hi = p.bounds if p.bounds is not None else (None, None)
    inc_lo, inc_hi = getattr(p, "inclusive_bounds", (True, True))
    low = None if lo is None or not math.isfinite(lo) else (lo if inc_lo else float(np.nextafter(lo, np.inf)))
    high = None if hi is None or not math.isfinite(hi) else (hi if inc_hi else float(np.nextafter(hi, -np.inf)))
    return low, high


# A float box's text. Fifteen significant digits keep every digit typed and drop the binary
# noise of the arrows' sums; but where those digits would read as a value the param refuses
# (its largest value 0.9999999999999999 for beta2 in [0, 1) reads "1"), the shortest text that
# reads back exactly is shown, so the box never says a value the param cannot hold.
_FLOAT_BOX_TEXT = """
const rounded = Number(tick.toPrecision(15));
if ((low != null && rounded < low) || (high != null && rounded > high))
    return String(tick);
return String(rounded);
"""


def _float_box_options(p: param.Number, value) -> dict:
    """A float box's arrow step (:func:`_box_step`) and its text (``_FLOAT_BOX_TEXT``): 15
    significant digits, which keep every digit typed (12345.678, 0.9995123) and drop the binary
    noise of the arrows' sums (3e-4 + 1e-4 reads 0.0004, not 0.00039999999999999996), except
    where they would read past the values ``p`` allows (:func:`_allowed_ends`); there every
    digit needed is shown."""
    from bokeh.models import CustomJSTickFormatter

    low, high = _allowed_ends(p)
    options = {"format": CustomJSTickFormatter(code=_FLOAT_BOX_TEXT, args={"low": low, "high": high})}
    step = _box_step(p, value)
    if step is not None:
        options["step"] = step
    return options


def widget_overrides(obj, names: Iterable[str], throttled: bool = True, prefix: str = "") -> dict:
    """Per-parameter ``pn.Param`` widget options: throttled sliders whose ends respect
    exclusive bounds (omega in (0, 2) gets a slider from 0.01 to 1.99), and CSS classes
    ``wb-param-<name>`` and ``wb-param-<prefix>-<name>`` that browser tests address."""
    import panel as pn

    out = {}
    for name in names:
        classes = [f"wb-param-{name}"] + ([f"wb-param-{prefix}-{name}"] if prefix else [])
        out[name] = {"css_classes": classes}
        p = obj.param[name]
        if isinstance(p, (param.Number,)) and not isinstance(p, param.Boolean):
            integer = isinstance(p, param.Integer)
            box = pn.widgets.IntInput if integer else pn.widgets.FloatInput
            value = getattr(obj, name)
            grid = slider_grid(p, value)
            if grid is not None:
                start, end, step = grid
                spec = {"type": pn.widgets.IntSlider if integer else pn.widgets.FloatSlider, "start": start,
                        "end": end, "step": step, "throttled": throttled}
                if not integer:
                    spec["format"] = _slider_label_format()
            else:
                # A box with no ends in the browser (start = end = None; pn.Param would put the
                # soft bounds there). Bokeh's spinner silently ignores a typed value past an end
                # (the box kept showing a typed 1 for beta2 in [0, 1) while beta2 stayed 0.999),
                # so every value reaches the object, and one it refuses is said under the box
                # (refuse_on_the_page). A box is chosen where a slider would misstate the value
                # (see slider_grid): unbounded on a side, off the grid, too long a range, unset.
                spec = {"type": box, "start": None, "end": None}
                if not integer:
                    spec.update(_float_box_options(p, value))
            out[name] = {**spec, "css_classes": classes}
    return out


def controls(obj: param.Parameterized, parameters: Iterable[str] | None = None, *,
             widgets: dict | None = None, throttled: bool = True, name: str | None = None,
             show_name: bool = True, **kwargs):
    """Panel widgets for the params of ``obj`` (a method or a problem factory).

    Parameters
    ----------
    obj : param.Parameterized
        E.g. ``wb.linear.SOR()`` or ``wb.core.get_problem_factory("poisson2d")()``.
    parameters : list of str, optional
        Which params to show (default: every public one, i.e. not ``name`` and
        not negative precedence).
    widgets : dict, optional
        ``pn.Param`` widget overrides, e.g. ``{"n": {"type": pn.widgets.DiscreteSlider,
        "options": [8, 16, 32, 64]}}``; merged over the defaults.
    throttled : bool
        Sliders update the object on release (``value_throttled``) rather than
        continuously.
    name : str, optional
        Heading; defaults to the method's registry name. Each widget gets the CSS
        classes ``wb-param-<param>`` and ``wb-param-<slug of name>-<param>``.

    Returns
    -------
    panel.Param

    Examples
    --------
    >>> import workbench as wb
    >>> from workbench.ui import controls
    >>> sor = wb.linear.SOR(omega=1.5)
    >>> panel = controls(sor)          # an omega slider (0.01..1.99) and a kernel selector
    >>> panel.widget("omega").value
    1.5
    """
    import panel as pn

    names = _public(obj, parameters)
    title = name or getattr(obj, "registry_name", "") or type(obj).__name__
    overrides = widget_overrides(obj, names, throttled=throttled, prefix=css_slug(title))
    for key, spec in (widgets or {}).items():
        base = overrides.get(key, {})
        if isinstance(spec, dict) and "type" not in spec:
            overrides[key] = {**base, **spec}
        elif isinstance(spec, dict):  # a new widget type: keep only the CSS classes
            overrides[key] = {"css_classes": base.get("css_classes", []), **spec}
        else:
            overrides[key] = {"css_classes": base.get("css_classes", []), "type": spec}
    pane = _checked_param_class()(obj, parameters=names, widgets=overrides, name=title, show_name=show_name,
                                  sizing_mode="stretch_width", **kwargs)
    if hasattr(obj, "inert_params") and names:
        disable_inert(obj, pane, names)
    return pane


def disable_inert(obj: param.Parameterized, pane, names: Iterable[str]) -> None:
    """Keep the widgets of ``obj.inert_params()`` disabled (ChebCB's degree while the policy is
    Tsallis-INF, Beta's alpha while the setting is "high"), following every change of ``obj``.

    Only the widgets of ``obj.may_be_inert`` are touched (of every shown param when a class
    overrides ``inert_params`` without declaring them), and a widget its caller disabled
    (``{"disabled": True}`` in the overrides) stays disabled."""
    names = list(names)
    from ..core import Method, ProblemFactory

    declared = getattr(obj, "may_be_inert", frozenset())
    if declared:
        candidates = [name for name in names if name in declared]
    elif type(obj).inert_params not in (Method.inert_params, ProblemFactory.inert_params):
        candidates = names  # an own inert_params without may_be_inert: any shown param may be inert
    else:
        candidates = []
    if not candidates:
        return
    original: dict[int, tuple] = {}  # id(widget) -> (widget, disabled as built)

    def sync(*events):
        inert = obj.inert_params()
        widgets = getattr(pane, "_widgets", {})  # pn.Param's widget per parameter (rebuilt on re-render)
        for name in candidates:
            widget = widgets.get(name)
            if widget is None or "disabled" not in widget.param:
                continue
            built = original.setdefault(id(widget), (widget, bool(widget.disabled)))[1]
            widget.disabled = name in inert or built or bool(obj.param[name].constant)

    # Any shown param may make a candidate inert (the policy, the setting).
    obj.param.watch(sync, names)
    sync()



_CHECKED_PARAM = None


def _checked_param_class():
    """``pn.Param`` whose every widget (also those rebuilt on a re-render) goes through
    :func:`refuse_on_the_page`. Made on first use: Panel is imported lazily."""
    global _CHECKED_PARAM
    if _CHECKED_PARAM is None:
        import panel as pn

        class CheckedParam(pn.Param):
            def widget(self, p_name, parameterized=None, widget_spec=None):
                widget = super().widget(p_name, parameterized, widget_spec)
                if isinstance(self, pn.Param):  # an instance (Panel's widget is a bothmethod)
                    refuse_on_the_page(self, widget, p_name)
                    follow_the_value_with_the_step(self.object, widget, p_name)
                return widget

        _CHECKED_PARAM = CheckedParam
    return _CHECKED_PARAM


def follow_the_value_with_the_step(obj, widget, name: str) -> None:
    """Keep a float box's arrow step (:func:`_box_step`) on the order of magnitude of its value
    as the value changes: lr typed from 0.001 to 0.5 steps by 0.1, not by the 0.001 it was
    made with (500 presses to 1.0). A param with its own ``step`` keeps it (:func:`_box_step`)."""
    import panel as pn

    p = obj.param[name]
    if not isinstance(widget, pn.widgets.FloatInput) or not isinstance(p, param.Number):
        return

    def follow(event):
        step = _box_step(p, event.new)
        if step is not None and step != widget.step:
            widget.step = step

    widget.param.watch(follow, "value")


def refuse_on_the_page(pane, widget, name: str) -> None:
    """Refuse a value of ``widget`` that ``pane.object.check_value(name, value)`` refuses: the
    object keeps its value, the widget (in the browser too) goes back to it, and the sentence
    is shown under the widget (CSS class ``wb-param-refusal``) until a value is accepted.

    Without this, ``pn.Param`` would assign the value, the object would raise, and the
    refusal would reach only the server log while the box kept the typed text. This puts the
    check in front of ``pn.Param``'s own widget-to-parameter link (which then never sees the
    refused value) and sets the widget back from inside the change, which Panel sends to the
    browser because it differs from the value the browser sent."""
    obj = pane.object
    if not hasattr(obj, "check_value") or "value" not in widget.param or name not in obj.param:
        return
    # pn.Param links a throttled slider through value_throttled (set on release), any other
    # widget through value.
    links = [w for w in getattr(pane, "_internal_callbacks", []) if w.inst is widget
             and getattr(w.fn, "__name__", "") == "link_widget"
             and set(w.parameter_names) & {"value", "value_throttled"}]
    if len(links) != 1:  # not the pn.Param this was written against: leave its link alone
        log.debug("no pn.Param link found for %s; values set on the page are not checked", name)
        return
    link = links[0]
    watched = "value_throttled" if "value_throttled" in link.parameter_names else "value"
    from ..core import WorkbenchError

    message: dict = {}

    def checked_link(event):
        try:
            obj.check_value(name, event.new)
        except WorkbenchError as exc:
            log.info("refused %s = %r: %s", name, event.new, exc)
            kept = getattr(obj, name)
            # (these nested changes pass the check; a slider's value_throttled is constant)
            with param.edit_constant(widget):
                widget.param.update(**dict.fromkeys({"value", watched}, kept))
            _show(str(exc))
            return
        link.fn(event)
        _show(None)

    def _show(text):
        box = getattr(pane, "_widget_box", None)
        current = message.get("pane")
        if text is None:
            if current is not None and box is not None and current in box.objects:
                box.remove(current)
            message.pop("pane", None)
            return
        import panel as pn

        content = f"<span style='color:#d62728'>{html.escape(text)}</span>"
        if current is None:
            current = message["pane"] = pn.pane.HTML(
                content, css_classes=["wb-param-refusal", f"wb-param-refusal-{name}"],
                sizing_mode="stretch_width", margin=(0, 10))
        else:
            current.object = content
        if box is not None and current not in box.objects and widget in box.objects:
            box.insert(box.objects.index(widget) + 1, current)

    widget.param.unwatch(link)
    pane._internal_callbacks.remove(link)
    pane._internal_callbacks.append(widget.param.watch(checked_link, watched))
