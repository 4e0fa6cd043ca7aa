"""Test harness for edgenode's Web API scripts: a bare mini-racer isolate with some of them loaded.

Shared by tests/test_js_*.py. It reads the scripts from the installed package, as the runtime does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from py_mini_racer import MiniRacer

import edgenode

JS_DIR = Path(edgenode.__file__).parent / "handlers" / "js"


def js_source(name: str) -> str:
    return (JS_DIR / f"{name}.js").read_text(encoding="utf-8")


class JSEnv:
    """One isolate; `value` reads a JSON-able expression, `run` awaits an async function body."""

    def __init__(self, *libs: str, prelude: str = "") -> None:
        self.mr = MiniRacer()
        if prelude:
            self.mr.eval(prelude)
        for lib in libs:
            self.mr.eval(js_source(lib))

    def eval(self, code: str) -> Any:
        return self.mr.eval(code)

    def value(self, expr: str) -> Any:
        return json.loads(self.mr.eval(f"JSON.stringify(({expr}) ?? null)"))

    def run(self, body: str) -> Any:
        """Runs `body` as an async function body; returns its JSON-able result or raises JSError."""
        self.mr.eval(
            "globalThis.__result = undefined; (async () => {" + body + "\n})().then("
            "v => { __result = JSON.stringify({ok: v === undefined ? null : v}); },"
            "e => { __result = JSON.stringify({err: (e && e.name) + ': ' + (e && e.message)}); });"
        )
        for _ in range(200):
            raw = self.mr.eval("__result === undefined ? '' : __result")
            if raw:
                result = json.loads(raw)
                if "err" in result:
                    raise JSError(result["err"])
                return result["ok"]
        raise AssertionError("the async body never settled")

    def close(self) -> None:
        self.mr.close()


class JSError(Exception):
    """A JavaScript exception, as `Name: message`."""


def js_str(value: str) -> str:
    """A Python string as a JS string literal."""
    return json.dumps(value)
