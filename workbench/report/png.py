"""PNG images of the report's figures, rendered by headless Chromium through Playwright.

Bokeh's own ``export_png`` drives a Selenium webdriver; Playwright does the
same job with the Chromium already used by the browser tests, and needs no
extra package. Each figure is written as a small standalone page (inline
resources, no network) and screenshotted once Bokeh has drawn it.
"""
from __future__ import annotations

import glob
import os
import shutil
import tempfile
from pathlib import Path

from ..core import InvalidParameter, WorkbenchError
from .data import collect_runs
from .html import without_external_scripts

__all__ = ["export_png", "chromium_path", "CHROMIUM_ARGS"]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str:
    """``$WORKBENCH_CHROMIUM``, else the first Chromium/Chrome found on the PATH."""
    env = os.environ.get("WORKBENCH_CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise WorkbenchError("PNG export needs Chromium; install it (e.g. apt install chromium) or set "
                         "WORKBENCH_CHROMIUM to its path, or export HTML instead.")


def export_png(results, folder: str | os.PathLike, *, store=None, prefix: str = "figure",
               width: int = 1000, height: int = 420) -> list[Path]:
    """Write each report figure as ``<folder>/<prefix>-<k>.png``; return the paths.

    Figures ``<prefix>-<k>.png`` left in the folder by an earlier export with more
    figures are removed, so the folder holds this report's figures only.

    Playwright's sync API runs in a thread of its own, so this also works
    where an asyncio loop is running (a Jupyter cell, a Panel server).
    """
    from concurrent.futures import ThreadPoolExecutor

    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    from .figures import build_figures

    try:
        from playwright.sync_api import Error as PlaywrightError, sync_playwright
    except ImportError:
        raise WorkbenchError("PNG export needs the playwright package (pip install playwright); "
                             "or export HTML instead.") from None
    runs = collect_runs(results, store)
    figures = build_figures(runs)
    if not figures:
        raise InvalidParameter("none of these runs has a convergence history to plot (each failed before its "
                               "first step); `workbench runs show ID` gives the reasons, or export HTML for "
                               "the table of failures.")
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidParameter(f"cannot make the folder {str(folder)!r} for the figures: {exc.strerror or exc}; "
                               "choose a folder you can write.") from None
    executable = chromium_path()
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        pages = []
        for k, (_, fig) in enumerate(figures, start=1):
            fig.sizing_mode = "fixed"
            fig.width, fig.height = width, height
            page_path = Path(tmp) / f"{prefix}-{k}.html"
            page_path.write_text(without_external_scripts(file_html(fig, resources=INLINE, title=f"{prefix} {k}")),
                                 encoding="utf-8")
            pages.append((page_path, folder / f"{prefix}-{k}.png"))
        # A fresh thread has no asyncio loop; its exceptions are re-raised here by ``result()``.
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-png-export") as pool:
                pool.submit(_screenshot_pages, sync_playwright, executable, pages, width, height,
                            written).result()
        except PlaywrightError as exc:
            raise WorkbenchError(f"Chromium could not render the figures ({exc}); export HTML instead.") from None
    # A figure of an earlier export with more figures would read as one of this report's.
    for old in folder.glob(f"{glob.escape(prefix)}-*.png"):
        number = old.stem[len(prefix) + 1:]
        if number.isdigit() and int(number) > len(written) and str(int(number)) == number:
            old.unlink(missing_ok=True)
    return written


def _screenshot_pages(sync_playwright, executable, pages, width, height, written) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width + 40, "height": height + 40})
            # Everything is inline: refuse any request that would leave the file.
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                       else route.abort())
            for src, dst in pages:
                page.goto(src.as_uri())
                page.wait_for_function(
                    "() => window.Bokeh && Bokeh.documents.length > 0 && "
                    "Object.values(Bokeh.index).some(v => v.model.type === 'Figure')", timeout=30_000)
                page.wait_for_timeout(300)  # let the canvas finish its first paint
                page.screenshot(path=str(dst), clip={"x": 0, "y": 0, "width": width, "height": height})
                written.append(dst)
        finally:
            browser.close()
