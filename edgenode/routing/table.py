"""RuleTable: the merged, ordered rule list with an index, so a request never scans every rule.

Each rule is filed in a trie under the literal segments its path starts with (`/blog/:slug` under
"blog", `/*` at the root), one trie per domain (host-less rules, and one per scheme+host for
domain-level rules). A request walks the trie along its own segments and collects:
- at every node it passes, the rules whose first dynamic segment (placeholder, splat) starts there:
  splat rules always, others only when their segment count equals the request's;
- at the node of its last segment, the fully literal rules ending exactly there.
Those are the only rules whose path can match; they are then tried in list order (first match wins).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from edgenode.config.redirects import LITERAL, SPLAT, RedirectRule


class _Node:
    __slots__ = ("children", "exact", "splat", "sized")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.exact: list[RedirectRule] = []  # fully literal rules ending here
        self.splat: list[RedirectRule] = []  # dynamic from here on, ending in `*`: any length
        self.sized: dict[int, list[RedirectRule]] = {}  # dynamic from here, no splat: by segment count


def request_segments(path: str) -> list[str]:
    """`/a/b/` -> ["a", "b"]: one trailing slash is tolerated by every rule (RR-11)."""
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path[1:].split("/") if len(path) > 1 else []


class RuleTable(Sequence[RedirectRule]):
    """What `site.rules` holds: a sized, ordered, indexed collection of RedirectRule."""

    def __init__(self, rules: list[RedirectRule]) -> None:
        self.rules = rules
        # Without conditions (Country, Language, Cookie, Role), a decision depends only on the path,
        # query, scheme and host (and the deploy's files): routing.phase memoises it per table.
        self.unconditional = not any(rule.conditions for rule in rules)
        self.decisions: dict[tuple[str, str, str, str], object] = {}
        self._tries: dict[tuple[str, str] | None, _Node] = {}
        for i, rule in enumerate(rules):
            rule.index = i
            key = (rule.scheme or "", rule.host or "") if rule.host else None
            node = self._tries.get(key)
            if node is None:
                node = self._tries[key] = _Node()
            literal = True
            for kind, seg in rule.segments:
                if kind != LITERAL:
                    literal = False
                    break
                child = node.children.get(seg)
                if child is None:
                    child = node.children[seg] = _Node()
                node = child
            if literal:
                node.exact.append(rule)
            elif rule.segments[-1][0] == SPLAT:
                node.splat.append(rule)
            else:
                node.sized.setdefault(len(rule.segments), []).append(rule)

    def __len__(self) -> int:
        return len(self.rules)

    def __getitem__(self, i):  # type: ignore[override]
        return self.rules[i]

    def __iter__(self) -> Iterator[RedirectRule]:
        return iter(self.rules)

    def candidates(self, segments: list[str], scheme: str = "", host: str = "") -> list[RedirectRule]:
        """The rules whose path can match these request segments, in rule order."""
        found: list[RedirectRule] = []
        n = len(segments)
        for key in (None, (scheme, host)):
            node = self._tries.get(key)
            if node is None:
                continue
            for seg in segments:
                if node.splat:
                    found += node.splat
                if node.sized:
                    found += node.sized.get(n, ())
                node = node.children.get(seg)
                if node is None:
                    break
            else:
                found += node.splat
                found += node.sized.get(n, ())
                found += node.exact
        if len(found) > 1:
            found.sort(key=_index)
        return found

    def edge_handler_names(self) -> list[str]:
        """Every edge handler a rule names (EH-2), in first-use order, for "declared but missing" checks."""
        return list(dict.fromkeys(r.edge_handler for r in self.rules if r.edge_handler))

    @property
    def has_role_rules(self) -> bool:
        return any("Role" in r.conditions for r in self.rules)


def _index(rule: RedirectRule) -> int:
    return rule.index
