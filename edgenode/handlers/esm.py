"""ES module -> module-record script, without Node.js: a small JS scanner finds the top-level
`import` / `export` statements and rewrites them, keeping every line where it was (so V8's line
numbers in syntax errors and stack traces point into the original file).

A module becomes `function (__exports, __import) { "use strict"; ...body... }`; `__import(id)`
returns the exports object of another module record (see js/modules.js). Pure: no I/O.

Deliberate limits (documented in the README): imported bindings are snapshots taken when the
import runs (not live bindings), `export const {a, b} = ...` destructuring exports only work
through an `export { a, b }` list, and top-level `await` is not supported.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

_IDENT = re.compile(r"[A-Za-z_$\u0080-\uffff][\w$\u0080-\uffff]*")
# After these tokens a `/` starts a regular expression literal, not a division.
_REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^") | {""}
_REGEX_AFTER_WORDS = {"return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw",
                      "case", "do", "else", "yield", "await"}


class ModuleSyntaxError(ValueError):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(slots=True)
class Statement:
    kind: str  # import | export
    start: int
    end: int


@dataclass(slots=True)
class Transformed:
    code: str  # the function expression source (one line of prefix on line 1)
    imports: list[tuple[str, int]] = field(default_factory=list)  # (specifier, line)
    exports: list[str] = field(default_factory=list)
    star_from: list[str] = field(default_factory=list)  # specifiers of `export * from`
    prefix_len: int = 0  # characters added before the original line 1


def _line_of(src: str, pos: int) -> int:
    return src.count("\n", 0, pos) + 1


def _skip_string(src: str, i: int) -> int:
    quote = src[i]
    i += 1
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == quote:
            return i + 1
        if c == "\n":
            break
        i += 1
    raise ModuleSyntaxError("unterminated string literal", _line_of(src, i), 0)


def _skip_template(src: str, i: int) -> int:
    """i at the opening backtick; returns the index after the closing one (handles ${ } nesting)."""
    i += 1
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == "`":
            return i + 1
        if c == "$" and i + 1 < n and src[i + 1] == "{":
            i = _skip_balanced(src, i + 1)
            continue
        i += 1
    raise ModuleSyntaxError("unterminated template literal", _line_of(src, i), 0)


def _skip_regex(src: str, i: int) -> int:
    i += 1
    n = len(src)
    in_class = False
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == "\n":
            break
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "/":
            i += 1
            while i < n and (src[i].isalnum() or src[i] in "_$"):
                i += 1
            return i
        i += 1
    raise ModuleSyntaxError("unterminated regular expression", _line_of(src, i), 0)


def _skip_balanced(src: str, i: int) -> int:
    """i at an opening brace; returns the index after its matching close brace."""
    depth = 0
    pos = i
    for kind, start, end, _ in _tokens(src, i):
        pos = end
        if kind == "p" and src[start] in "{([":
            depth += 1
        elif kind == "p" and src[start] in "})]":
            depth -= 1
            if depth == 0:
                return end
    raise ModuleSyntaxError("unbalanced braces", _line_of(src, pos), 0)


def _tokens(src: str, i: int = 0):
    """Yield (kind, start, end, prev) for significant tokens: w(ord), s(tring), p(unctuation), o(ther)."""
    n = len(src)
    prev = ""
    while i < n:
        c = src[i]
        if c in " \t\r\n\ufeff\u00a0\u2028\u2029":
            i += 1
            continue
        if c == "/" and i + 1 < n and src[i + 1] == "/":
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        if c == "/" and i + 1 < n and src[i + 1] == "*":
            j = src.find("*/", i + 2)
            if j < 0:
                raise ModuleSyntaxError("unterminated comment", _line_of(src, i), 0)
            i = j + 2
            continue
        start = i
        if c in "'\"":
            i = _skip_string(src, i)
            kind = "s"
        elif c == "`":
            i = _skip_template(src, i)
            kind = "s"
        elif c == "/" and (prev in _REGEX_AFTER or prev in _REGEX_AFTER_WORDS):
            i = _skip_regex(src, i)
            kind = "s"
        elif c in "{}()[];,":
            i += 1
            kind = "p"
        else:
            m = _IDENT.match(src, i)
            if m:
                i = m.end()
                kind = "w"
            elif c.isdigit() or (c == "." and i + 1 < n and src[i + 1].isdigit()):
                m2 = re.compile(r"[\w.]+").match(src, i)
                i = m2.end() if m2 else i + 1
                kind = "o"
            else:
                i += 1
                kind = "o"
        tok = src[start:i]
        yield kind, start, i, prev
        prev = tok if kind in ("w", "p", "o") else "x"


def _statements(src: str) -> list[Statement]:
    """Top-level import/export statements, as source spans."""
    out: list[Statement] = []
    depth = 0
    it = _tokens(src)
    for kind, start, end, prev in it:
        if kind == "p":
            if src[start] in "{([":
                depth += 1
            elif src[start] in "})]":
                depth -= 1
            continue
        if depth != 0 or kind != "w" or src[start:end] not in ("import", "export"):
            continue
        if prev not in ("", ";", "}", ")", "x") and not _newline_between(src, start):
            continue
        word = src[start:end]
        nxt = _next_char(src, end)
        if word == "import" and nxt in "(.":
            continue  # dynamic import() / import.meta: left to V8
        out.append(Statement(word, start, _statement_end(src, word, end)))
    return out


def _newline_between(src: str, pos: int) -> bool:
    j = pos - 1
    while j >= 0 and src[j] in " \t":
        j -= 1
    return j < 0 or src[j] == "\n"


def _next_char(src: str, i: int) -> str:
    while i < len(src) and src[i] in " \t\r\n":
        i += 1
    return src[i] if i < len(src) else ""


def _statement_end(src: str, word: str, i: int) -> int:
    """End of an import / export-from / export-list statement; for declarations, end of the keyword part."""
    if word == "export":
        m = re.compile(r"\s*(default\b|\{|\*|async\b|function\b|class\b|const\b|let\b|var\b)").match(src, i)
        if not m:
            raise ModuleSyntaxError("unsupported export form", _line_of(src, i), 0)
        head = m.group(1)
        if head not in ("{", "*"):
            return m.start(1)  # a declaration / default: only `export` itself is rewritten
    # import ... from 'x' [with {...}] ;   |   import 'x';   |   export {..} [from 'x'];  |  export * [as n] from 'x';
    depth = 0
    saw_string = False
    for kind, start, end, _ in _tokens(src, i):
        if kind == "p" and src[start] in "{(":
            depth += 1
        elif kind == "p" and src[start] in "})":
            depth -= 1
            if depth == 0 and saw_string:
                return _eat_semicolon(src, end)
            if depth == 0 and word == "export" and not saw_string and _next_word(src, end) != "from":
                return _eat_semicolon(src, end)
        elif kind == "s" and depth == 0:
            saw_string = True
            if _next_word(src, end) in ("with", "assert"):
                continue
            return _eat_semicolon(src, end)
        elif kind == "p" and src[start] == ";" and depth == 0:
            return end
    raise ModuleSyntaxError(f"unterminated {word} statement", _line_of(src, i), 0)


def _next_word(src: str, i: int) -> str:
    m = re.compile(r"\s*([A-Za-z_$][\w$]*)").match(src, i)
    return m.group(1) if m else ""


def _eat_semicolon(src: str, i: int) -> int:
    m = re.compile(r"[ \t]*;?").match(src, i)
    return m.end() if m else i


_FROM = re.compile(r"""from\s*(['"])(.*?)\1""", re.S)
_BARE = re.compile(r"""^import\s*(['"])(.*?)\1""", re.S)
_DECL = re.compile(r"\s*(async\s+function\s*\*?|function\s*\*?|class|const|let|var)\s*([A-Za-z_$][\w$]*)")


def _bindings(clause: str, line: int) -> list[tuple[str, str]]:
    """`a, b as c, default as d` -> [(exported, local)]."""
    out = []
    for part in clause.split(","):
        part = part.strip()
        if not part:
            continue
        bits = part.split()
        if len(bits) == 1:
            out.append((bits[0], bits[0]))
        elif len(bits) == 3 and bits[1] == "as":
            out.append((bits[0].strip("'\""), bits[2].strip("'\"")))
        else:
            raise ModuleSyntaxError(f"cannot read binding {part!r}", line, 0)
    return out


def transform(src: str) -> Transformed:
    """Rewrite an ES module's source into a module-record function expression."""
    src = src.removeprefix("\ufeff")
    if src.startswith("#!"):
        src = "//" + src[2:]
    result = Transformed("")
    getters: list[tuple[str, str]] = []  # (exported name, local expression)
    pieces: list[str] = []
    last = 0
    counter = 0
    for st in _statements(src):
        text = src[st.start:st.end]
        line = _line_of(src, st.start)
        keep_lines = "\n" * text.count("\n")
        pieces.append(src[last:st.start])
        last = st.end
        if st.kind == "import":
            m = _FROM.search(text) or _BARE.match(text)
            if not m:
                raise ModuleSyntaxError("cannot read import statement", line, 0)
            spec = m.group(2)
            result.imports.append((spec, line))
            target = f"__import({json.dumps(spec)})"
            clause = text[len("import"):m.start()].strip() if _FROM.search(text) else ""
            code = _import_code(clause, target, line)
            pieces.append(code + keep_lines)
            continue
        # export
        rest = src[st.end:]
        m_default = re.match(r"\s*default\b", src[st.start + 6:])
        if text.strip() == "export" and m_default:
            after = st.start + 6 + m_default.end()
            d = _DECL.match(src, after)
            if d and d.group(1).split()[0] in ("function", "async", "class") and d.group(2) not in ("extends",):
                pieces.append("")
                last = after  # drop `export default`, keep the named declaration
                getters.append(("default", d.group(2)))
            else:
                pieces.append("__exports.default =")
                last = after
            result.exports.append("default")
            continue
        if text.strip() == "export":
            d = _DECL.match(rest)
            if not d:
                raise ModuleSyntaxError("unsupported export declaration", line, 0)
            getters.append((d.group(2), d.group(2)))
            result.exports.append(d.group(2))
            pieces.append("")
            continue
        body = text[len("export"):].strip().rstrip(";").strip()
        fm = _FROM.search(body)
        if body.startswith("*"):
            if not fm:
                raise ModuleSyntaxError("export * needs a from clause", line, 0)
            spec = fm.group(2)
            result.imports.append((spec, line))
            ns = re.match(r"\*\s*as\s+([A-Za-z_$][\w$]*)", body)
            if ns:
                counter += 1
                pieces.append(f"const __ns{counter} = __import({json.dumps(spec)});" + keep_lines)
                getters.append((ns.group(1), f"__ns{counter}"))
                result.exports.append(ns.group(1))
            else:
                result.star_from.append(spec)
                pieces.append(f"__edge_modules.star(__exports, __import({json.dumps(spec)}));" + keep_lines)
            continue
        brace = body[body.index("{") + 1:body.index("}")]
        pairs = _bindings(brace, line)
        if fm:
            spec = fm.group(2)
            result.imports.append((spec, line))
            counter += 1
            pieces.append(f"const __re{counter} = __import({json.dumps(spec)});" + keep_lines)
            for local, exported in pairs:
                getters.append((exported, f"__re{counter}[{json.dumps(local)}]"))
                result.exports.append(exported)
        else:
            pieces.append(keep_lines)
            for local, exported in pairs:
                getters.append((exported, local))
                result.exports.append(exported)
    pieces.append(src[last:])
    defs = "".join(f"__edge_modules.get(__exports,{json.dumps(name)},()=>{expr});" for name, expr in getters)
    prefix = f'(function (__exports, __import) {{"use strict";{defs}'
    result.prefix_len = len(prefix)
    result.code = prefix + "".join(pieces) + "\n})"
    return result


def _import_code(clause: str, target: str, line: int) -> str:
    if not clause:
        return f"{target};"
    parts: list[str] = []
    default = None
    named = None
    ns = None
    m = re.match(r"^([A-Za-z_$][\w$]*)\s*(?:,\s*(.*))?$", clause, re.S)
    rest = clause
    if m and not clause.startswith(("{", "*")):
        default = m.group(1)
        rest = (m.group(2) or "").strip()
    if rest.startswith("{"):
        named = _bindings(rest[1:rest.rindex("}")], line)
    elif rest.startswith("*"):
        nm = re.match(r"\*\s*as\s+([A-Za-z_$][\w$]*)$", rest)
        if not nm:
            raise ModuleSyntaxError("cannot read namespace import", line, 0)
        ns = nm.group(1)
    elif rest:
        raise ModuleSyntaxError(f"cannot read import clause {clause!r}", line, 0)
    if ns is not None or (default and named):
        tmp = ns or f"__imp{line}"
        parts.append(f"const {tmp} = {target};")
        target = tmp
    if default:
        parts.append(f"const {default} = {target}.default;")
    if named:
        fields = ", ".join(f"{json.dumps(ext)}: {loc}" for ext, loc in named)
        parts.append(f"const {{{fields}}} = {target};")
    return " ".join(parts)
