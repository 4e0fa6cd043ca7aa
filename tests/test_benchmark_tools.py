"""The benchmark runner's reading of wrk's report (benchmarks/tools.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))  # tools.py imports its sibling scenarios.py
try:
    _spec = importlib.util.spec_from_file_location("bench_tools", BENCH / "tools.py")
    assert _spec is not None and _spec.loader is not None
    tools = sys.modules["bench_tools"] = importlib.util.module_from_spec(_spec)  # (dataclasses look it up)
    _spec.loader.exec_module(tools)
finally:
    sys.path.remove(str(BENCH))

# A real report shape: the "+/- Stdev" column ends in "50%" and "99%", which are not percentiles.
REPORT = """\
Running 3s test @ http://127.0.0.1:8080/api/data.json
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.07ms  412.33us   9.86ms   87.50%
    Req/Sec    15.52k   812.44    16.30k    98.99%
  Latency Distribution
     50%    2.04ms
     75%    2.21ms
     90%    2.45ms
     99%    3.14ms
  46401 requests in 3.00s, 96.28MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  15457.12
Transfer/sec:     32.09MB
"""


def test_percentiles_come_from_the_latency_distribution():
    r = tools.parse_wrk(REPORT)
    assert (r.rps, r.p50_ms, r.p99_ms, r.requests, r.errors, r.bad_status) == (15457.12, 2.04, 3.14, 46401, 3, 4)
    assert tools.parse_wrk(REPORT.replace("2.04ms", "364.00us")).p50_ms == pytest.approx(0.364)


def test_a_report_without_numbers_is_an_error():
    with pytest.raises(RuntimeError):
        tools.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")
