import time, pytest
from .helpers import click, open_page, text_of, wait_until, set_widget, set_speed, lane
pytestmark = pytest.mark.browser
def test_debug(page, server_url):
    open_page(page, server_url, "sparsity")
    set_widget(page, "wb-param-sinkhorn-newton-sparse-warmup", 5)
    set_speed(page, "3")
    click(page, "Play")
    for i in range(8):
        time.sleep(1); print(i, lane(page, "Sinkhorn-Newton-Sparse"), "|", text_of(page, ".wb-plan-info"))
    set_widget(page, "wb-param-sinkhorn-newton-sparse-rho", 0.1)
    for i in range(8):
        time.sleep(1); print(i, lane(page, "Sinkhorn-Newton-Sparse"), "|", text_of(page, ".wb-plan-info"))
