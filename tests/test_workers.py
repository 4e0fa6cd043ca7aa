"""`edgenode serve --workers N`: processes sharing one port, restarted when they die, stopped together."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from edgenode.workers import worker_count

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or not hasattr(os, "sched_getaffinity"),
                                reason="needs fork and SO_REUSEPORT (Linux)")


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(x) for x in f.read().split()]


def wait_until(predicate, timeout: float = 15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = predicate()
        if v:
            return v
        time.sleep(0.05)
    return predicate()


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.read()


@pytest.fixture
def supervised(make_site):
    site = make_site({"index.html": "<h1>workers</h1>"})
    proc = subprocess.Popen([sys.executable, "-m", "edgenode", "serve", str(site), "--port", "0", "--workers", "2",
                             "--no-watch", "--grace", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"(http://\S+)", line)
    assert m, f"no banner: {line!r} {proc.stderr.read() if proc.poll() is not None else ''}"
    yield proc, m.group(1)
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_worker_count():
    assert worker_count("3") == 3
    assert worker_count("auto") == len(os.sched_getaffinity(0))
    with pytest.raises(ValueError):
        worker_count("0")


def test_workers_share_the_port_and_are_restarted(supervised):
    proc, url = supervised
    assert wait_until(lambda: len(children(proc.pid)) == 2)
    assert get(url + "/") == (200, b"<h1>workers</h1>")
    first = children(proc.pid)
    os.kill(first[0], signal.SIGKILL)
    assert wait_until(lambda: len(children(proc.pid)) == 2 and first[0] not in children(proc.pid))
    assert first[1] in children(proc.pid)
    for _ in range(20):  # every worker answers, whichever gets the connection
        assert get(url + "/")[0] == 200


def test_sigterm_stops_every_worker_and_exits_0(supervised):
    proc, url = supervised
    assert wait_until(lambda: len(children(proc.pid)) == 2)
    kids = children(proc.pid)
    assert get(url + "/")[0] == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    for k in kids:
        assert not alive(k)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "State:\tZ" not in f.read()
    except OSError:
        return False


def test_workers_die_with_a_killed_supervisor(supervised):
    proc, url = supervised
    assert wait_until(lambda: len(children(proc.pid)) == 2)
    kids = children(proc.pid)
    proc.kill()  # SIGKILL: the supervisor cannot pass anything on
    proc.wait(10)
    assert wait_until(lambda: not any(alive(k) for k in kids), timeout=20)
