"""Process plumbing for the benchmarks: tools, ports, nginx and edgenode processes, wrk, RSS."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from scenarios import NGINX_HTTP_EXTRA, Reply


def ensure_tools(need_nginx: bool) -> None:
    """wrk and taskset are required; nginx too for a baseline or the proxy upstream. apt-get them if missing."""
    missing = [pkg for tool, pkg in (("wrk", "wrk"), ("taskset", "util-linux"), ("nginx", "nginx-light"))
               if shutil.which(tool) is None and (tool != "nginx" or need_nginx)]
    if not missing:
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        sys.exit(f"benchmarks need {', '.join(missing)}: install them (e.g. sudo apt-get install {' '.join(missing)})")
    print(f"installing {' '.join(missing)} with apt-get ...", flush=True)
    subprocess.run(["apt-get", "update", "-q"], check=False, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen | None, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")


def fetch(port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        body = r.read()
        hdrs: dict[str, str] = {}
        for k, v in r.getheaders():
            k = k.lower()
            hdrs[k] = f"{hdrs[k]}, {v}" if k in hdrs else v
        return Reply(r.status, hdrs, body)
    finally:
        conn.close()


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# -- nginx -----------------------------------------------------------------------------------------------

NGINX_TYPES = "types { text/html html; application/json json; application/octet-stream bin; text/css css; }"


def nginx_conf(root: Path, name: str, port: int, server_body: str, upstream_port: int, workers: int) -> Path:
    d = root / "nginx"
    tmp = d / f"tmp-{name}"
    tmp.mkdir(parents=True, exist_ok=True)
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temps = "".join(f"{k}_temp_path {tmp}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = (f"{user}worker_processes {workers};\ndaemon off;\npid {d}/{name}.pid;\n"
            f"error_log {d}/{name}.error.log warn;\n"
            "events { worker_connections 4096; }\n"
            "http {\n"
            f"access_log off;\n{NGINX_TYPES}\ndefault_type application/octet-stream;\n"
            "sendfile on; tcp_nopush on; keepalive_timeout 75; keepalive_requests 100000000;\n"
            + temps + NGINX_HTTP_EXTRA.replace("UPSTREAM_PORT", str(upstream_port))
            + f"server {{\nlisten 127.0.0.1:{port} reuseport;\n{server_body}}}\n}}\n")
    path = d / f"{name}.conf"
    path.write_text(conf)
    return path


def start_nginx(conf: Path, cpus: str) -> subprocess.Popen:
    return subprocess.Popen(["taskset", "-c", cpus, shutil.which("nginx") or "nginx", "-c", str(conf),
                             "-p", str(conf.parent)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def start_upstream(root: Path, port: int, cpus: str) -> subprocess.Popen:
    """The S3 upstream: nginx serving a small JSON file when nginx is installed, else aiohttp."""
    if shutil.which("nginx"):
        conf = nginx_conf(root, "upstream", port, f"root {root / 'upstream'};\nlocation / {{ }}\n", port, 1)
        return start_nginx(conf, cpus)
    code = ("import sys; from aiohttp import web; app = web.Application(); "
            "app.router.add_static('/', sys.argv[1]); web.run_app(app, host='127.0.0.1', port=int(sys.argv[2]), "
            "print=None, access_log=None)")
    return subprocess.Popen(["taskset", "-c", cpus, sys.executable, "-c", code, str(root / "upstream"), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_edgenode(site: Path, port: int, cpus: str, workers: str, extra: list[str] | None = None) -> subprocess.Popen:
    cmd = ["taskset", "-c", cpus, sys.executable, "-m", "edgenode", "serve", str(site), "--port", str(port),
           "--quiet", "--no-watch", *(extra or [])]
    if workers != "1":
        cmd += ["--workers", workers]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


# -- wrk -------------------------------------------------------------------------------------------------

@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors (connect, read, write, timeout)
    bad_status: int  # responses other than 2xx/3xx


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m|h)\b", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def run_wrk(port: int, path: str, conns: int, seconds: float, cpus: str, headers: tuple[str, ...] = (),
            script: Path | None = None) -> WrkResult:
    cmd = ["taskset", "-c", cpus, "wrk", "-t1", f"-c{conns}", f"-d{seconds:g}s", "--latency", "--timeout", "5s"]
    for h in headers:
        cmd += ["-H", h]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    return parse_wrk(subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout)


def parse_wrk(out: str) -> WrkResult:
    """wrk's report (run with --latency) -> WrkResult."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    # At the start of a line: wrk's "+/- Stdev" column ("87.50%") must not pass for a percentile.
    p50 = re.search(r"^\s*50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not (rps and p50 and p99 and total):
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    return WrkResult(float(rps.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), int(total.group(1)),
                     sum(int(x) for x in sock.groups()) if sock else 0, int(bad.group(1)) if bad else 0)


# -- memory ----------------------------------------------------------------------------------------------

def rss_kb(pid: int) -> int:
    """Resident set of a process and all its descendants (workers), in KiB."""
    total = 0
    for p in [pid, *_descendants(pid)]:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def _descendants(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        return []
    out = list(kids)
    for k in kids:
        out += _descendants(k)
    return out


def load_average() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"
