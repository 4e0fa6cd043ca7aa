"""Config problems are values with a place: file and line, so `check` and the log can point at them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    file: str  # path relative to the site dir, e.g. "_redirects" or "netlify.toml"
    line: int  # 1-based; 0 when the problem has no line
    reason: str
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.reason}"


class ConfigError(Exception):
    """A problem that stops the site from loading at all (a TOML syntax error)."""

    def __init__(self, problem: ConfigProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem
