"""`edgenode serve` and `edgenode check` as a user runs them: a real process."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(site, *args: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "edgenode", "serve", str(site), "--port", str(port), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("server did not start")


def stop(proc: subprocess.Popen) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def test_bad_netlify_toml_exits_2_with_line(make_site):
    site = make_site({"index.html": "x", "netlify.toml": "[build]\npublish = 'x'\n[dev\nport = 1\n"})
    r = subprocess.run([sys.executable, "-m", "edgenode", "serve", str(site), "--port", "0"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert re.search(r"netlify\.toml:3: ", r.stderr), r.stderr
    assert "Traceback" not in r.stderr


def test_banner_access_log_and_graceful_exit(make_site):
    site = make_site({"index.html": "<h1>x</h1>", "sub/a.html": "a"})
    proc, url = start(site)
    with urllib.request.urlopen(url + "/") as r:
        assert r.status == 200
    code, out, err = stop(proc)
    assert code == 0, err
    first = out.splitlines()[0]
    assert url in first and "publish:" in first and "rules" in first and "handlers" in first
    log_lines = [ln for ln in out.splitlines() if " GET / " in ln]
    assert log_lines and " 200 " in log_lines[0] and ("hit" in log_lines[0] or "miss" in log_lines[0])


def test_json_access_log(make_site):
    site = make_site({"index.html": "<h1>x</h1>"})
    proc, url = start(site, "--log-format", "json")
    try:
        urllib.request.urlopen(url + "/missing")
    except urllib.error.HTTPError as e:
        assert e.code == 404
    code, out, _ = stop(proc)
    assert code == 0
    records = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
    rec = next(r for r in records if r["path"] == "/missing")
    assert rec["status"] == 404 and rec["method"] == "GET" and rec["bytes"] > 0
    assert {"duration_ms", "cache", "request_id", "time"} <= rec.keys()


def test_quiet_prints_nothing(make_site):
    site = make_site({"index.html": "x"})
    proc, url = start(site, "--quiet")
    urllib.request.urlopen(url + "/").read()
    code, out, _ = stop(proc)
    assert code == 0 and out.strip() == ""


def test_in_flight_request_finishes_on_sigterm(make_site):
    blob = os.urandom(32 * 1024 * 1024)
    site = make_site({"big.bin": blob})
    proc, url = start(site, "--grace", "20")
    port = int(url.rsplit(":", 1)[1])
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    first = s.recv(4096)
    assert first.startswith(b"HTTP/1.1 200")
    proc.send_signal(signal.SIGTERM)  # the transfer is still going: a slow reader keeps it in flight
    data = [first]
    n = 0
    while chunk := s.recv(65536):
        data.append(chunk)
        n += 1
        if n % 16 == 0:
            time.sleep(0.005)
    s.close()
    body = b"".join(data).split(b"\r\n\r\n", 1)[1]
    # Compared by digest: a 32 MB byte diff would bury the failure under megabytes of output.
    assert hashlib.sha256(body).digest() == hashlib.sha256(blob).digest(), f"got {len(body)} of {len(blob)} bytes"
    proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_check_reports_toml_problem(make_site):
    site = make_site({"index.html": "x", "netlify.toml": "[build]\npublish = 3\n"})
    r = subprocess.run([sys.executable, "-m", "edgenode", "check", str(site)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1 and "netlify.toml" in r.stdout
    good = make_site({"index.html": "x"}, name="good")
    r = subprocess.run([sys.executable, "-m", "edgenode", "check", str(good)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("args", [["--version"], ["serve", "--help"]])
def test_cli_basics(args):
    r = subprocess.run([sys.executable, "-m", "edgenode", *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "edgenode" in (r.stdout + r.stderr)


def test_netlify_toml_publish_and_dev_port(make_site):
    site = make_site({"public/index.html": "<h1>pub</h1>", "index.html": "<h1>root</h1>",
                      "netlify.toml": "[build]\n  Publish = 'public'\n"})
    proc, url = start(site)
    with urllib.request.urlopen(url + "/") as r:
        assert r.read() == b"<h1>pub</h1>"
    stop(proc)
