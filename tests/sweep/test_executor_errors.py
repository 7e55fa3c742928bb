"""A ``--scheduler`` that is not a Dask scheduler, and a local cluster too big for the machine,
are refused with a sentence (no hang, no MemoryError traceback); no cluster is started."""
import http.server
import os
import socket
import threading
import time

import pytest

from workbench.core import InvalidParameter, WorkbenchError
from workbench.sweep.executors import DaskExecutor, max_local_workers

pytest.importorskip("distributed")


@pytest.fixture
def silent_server():
    """Accepts connections and never answers (any non-Dask service that waits for its client)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    held = []

    def accept():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    for conn in held:
        conn.close()


@pytest.fixture
def http_server():
    """Answers in another protocol (HTTP): its bytes must not be read as a Dask frame."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_server_that_never_answers_is_refused_within_the_timeout(silent_server):
    t0 = time.perf_counter()
    with pytest.raises(WorkbenchError, match="accepts connections but is not a Dask scheduler .it did not answer"):
        with DaskExecutor(silent_server, timeout=1.5):
            pass
    assert time.perf_counter() - t0 < 10  # Client alone waits for ever


def test_an_http_server_is_refused_not_read_as_a_huge_frame(http_server):
    with pytest.raises(WorkbenchError, match="is not a Dask scheduler"):
        with DaskExecutor(http_server, timeout=3):
            pass


def test_the_cli_says_so_in_one_line(silent_server, tmp_path, capsys, monkeypatch):
    from workbench.cli import main

    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\nmethod: sor\nproblem: poisson2d\ngrid:\n  method.omega: [1.5, 1.8]\n")
    original = DaskExecutor.__init__

    def quick(self, *args, **kwargs):  # the CLI's 20 s deadline, shortened for the test
        original(self, *args, **{**kwargs, "timeout": 1.0})

    monkeypatch.setattr(DaskExecutor, "__init__", quick)
    code = main(["sweep", str(spec), "--store", str(tmp_path / "r.sqlite"), "--scheduler", silent_server,
                 "--quiet"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("workbench: error:") and "not a Dask scheduler" in err and "\n" not in err


def test_more_local_workers_than_four_per_cpu_are_refused():
    assert max_local_workers() == 4 * (os.cpu_count() or 1)
    with pytest.raises(InvalidParameter, match=r"the most this starts is \d+ \(4 per CPU\)"):
        DaskExecutor(n_workers=max_local_workers() + 1)
    DaskExecutor(n_workers=max_local_workers())  # the bound itself is allowed (nothing starts here)
    DaskExecutor("tcp://127.0.0.1:8786", n_workers=10_000)  # a remote cluster's size is not ours to bound


@pytest.mark.filterwarnings("ignore:Port .* is already in use")
def test_a_scheduler_without_workers_is_named_as_such_before_the_runs_wait():
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, protocol="tcp://", dashboard_address=None) as cluster:
        with DaskExecutor(cluster.scheduler_address, timeout=5) as executor:
            assert "it has no workers yet: the runs wait until one joins" in executor.describe()


@pytest.mark.filterwarnings("ignore:Port .* is already in use")
def test_the_check_works_from_inside_a_running_event_loop_as_in_jupyter():
    import asyncio

    from distributed import LocalCluster

    from workbench.sweep.executors import check_is_scheduler

    with LocalCluster(n_workers=0, processes=False, protocol="tcp://", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://")

        async def inside_a_loop():
            return check_is_scheduler(cluster.scheduler_address, 5)

        assert asyncio.run(inside_a_loop())["type"] == "Scheduler"


def test_schemes_other_than_tcp_are_left_to_the_client():
    from workbench.sweep.executors import check_is_scheduler

    assert check_is_scheduler("tls://127.0.0.1:1", 1) == {}
