"""Browser test: a value typed into a control that the method refuses changes nothing, the box
goes back to the method's value, and the refusal's sentence is shown under it (not only in the
server log); a good value afterwards is taken and clears the sentence."""
from __future__ import annotations

import pytest

from .helpers import REPO, assert_no_console_errors, lane, open_page, text_of, wait_until

pytestmark = pytest.mark.browser
ARTIFACTS_LOG = REPO / "artifacts" / "server.log"


def box_value(page, css_class: str) -> str:
    return page.locator(f".{css_class} input").first.input_value()


def type_into(page, css_class: str, text: str) -> None:
    box = page.locator(f".{css_class} input").first
    box.fill(text)
    box.press("Enter")


def test_a_refused_typed_value_is_said_on_the_page_and_the_box_goes_back(page, server_url):
    log_before = ARTIFACTS_LOG.read_text(errors="replace") if ARTIFACTS_LOG.exists() else ""
    open_page(page, server_url, "optimizer_race")
    assert "lr=0.001" in lane(page, "GD")["settings"]

    # A step size of 0 passes the box's bound (lr >= 0 in the browser) but GD needs lr > 0.
    type_into(page, "wb-param-gd-lr", "0")
    refusal = wait_until(lambda: page.locator(".wb-param-refusal-lr").count() and text_of(page, ".wb-param-refusal-lr"),
                         message="the refusal to be shown", timeout=30)
    assert "must be greater than 0.0, not 0" in refusal
    wait_until(lambda: float(box_value(page, "wb-param-gd-lr")) == 0.001, message="the box to go back to 0.001",
               timeout=30)
    assert "lr=0.001" in lane(page, "GD")["settings"]

    # A good value is taken and clears the sentence.
    type_into(page, "wb-param-gd-lr", "0.002")
    wait_until(lambda: "lr=0.002" in lane(page, "GD")["settings"], message="the server to use lr=0.002", timeout=30)
    wait_until(lambda: page.locator(".wb-param-refusal-lr").count() == 0, message="the sentence to go", timeout=30)
    # The box's arrow steps by the value's order of magnitude (0.001), not 0.1, and the box
    # reads the sum without its binary noise.
    page.locator(".wb-param-gd-lr input").first.press("ArrowUp")
    wait_until(lambda: "lr=0.003" in lane(page, "GD")["settings"], message="the arrow to give lr=0.003", timeout=30)
    assert box_value(page, "wb-param-gd-lr") == "0.003"
    # A typed 1 for Adam's beta2 in [0, 1) reaches the object and is refused under the box (a
    # box with ends would keep showing "1" while beta2 stayed 0.999), and the box goes back.
    type_into(page, "wb-param-adam-beta2", "1")
    refusal = wait_until(lambda: page.locator(".wb-param-refusal-beta2").count()
                         and text_of(page, ".wb-param-refusal-beta2"), message="beta2's refusal", timeout=30)
    assert "must be less than 1.0, not 1." in refusal
    wait_until(lambda: box_value(page, "wb-param-adam-beta2") == "0.999", message="the box to go back to 0.999",
               timeout=30)
    # The largest beta2 allowed is taken, and the box says it with every digit (15 digits would
    # read "1", a value beta2 refuses).
    type_into(page, "wb-param-adam-beta2", "0.9999999999999999")
    wait_until(lambda: "beta2=1," in lane(page, "Adam")["settings"] + ",",
               message="the server to take beta2 = 0.9999999999999999 (4 digits in the lane)", timeout=30)
    page.locator(".wb-param-adam-lr input").first.focus()  # leaving the box shows its formatted text
    wait_until(lambda: box_value(page, "wb-param-adam-beta2") == "0.9999999999999999",
               message="the box to read 0.9999999999999999", timeout=30)
    wait_until(lambda: page.locator(".wb-param-refusal-beta2").count() == 0, message="beta2's sentence to go",
               timeout=30)
    assert_no_console_errors(page)
    log_after = ARTIFACTS_LOG.read_text(errors="replace")[len(log_before):]
    assert "Callback failed" not in log_after and "Traceback" not in log_after


def test_a_refused_list_is_said_under_its_box_on_the_schedules_page(page, server_url):
    open_page(page, server_url, "schedules")
    page.locator(".bk-tab", has_text="Shapes").first.click()
    page.locator(".wb-shape-choice select").first.select_option("step", timeout=5000)
    wait_until(lambda: page.locator(".wb-param-step-milestones input").count() > 0,
               message="the step schedule's knobs", timeout=30)
    type_into(page, "wb-param-step-milestones", "[0.5, 1.5]")
    refusal = wait_until(lambda: page.locator(".wb-param-refusal-milestones").count()
                         and text_of(page, ".wb-param-refusal-milestones"), message="the refusal", timeout=30)
    assert "strictly between 0 and 1, got [0.5, 1.5]" in refusal
    wait_until(lambda: box_value(page, "wb-param-step-milestones").replace(" ", "") == "[0.5,0.75]",
               message="the box to go back to [0.5, 0.75]", timeout=30)
    type_into(page, "wb-param-step-milestones", "[0.25]")
    wait_until(lambda: page.locator(".wb-param-refusal-milestones").count() == 0, message="the sentence to go",
               timeout=30)
    assert_no_console_errors(page)
