"""EUPS table files (``ups/<product>.table``): parse, evaluate, expand.

Grammar (spec section 2): one command per line; ``#`` starts a comment (outside quotes and
parentheses); command names are case-insensitive; a trailing ``;`` is allowed.  Blocks are
``if (cond) { ... } else if (cond) { ... } else { ... }``; the legacy ``Group:``/
``Flavor =``/``Common:``/``End:`` blocks become if-blocks on the flavor.  Conditions are
EUPS's (:mod:`.condition`).

The language is the one real EUPS reads (issue 14): a line EUPS skips (:mod:`.eupslines`:
an unknown command, a line that is no command, ``if`` or brace line) is an error when
reading strictly (``lint-table``).  Resolution, build and setup read leniently, as EUPS
does: such a line is skipped with a warning naming ``file:line`` (:attr:`Table.warnings`,
logged), a ``}`` without its ``{`` is ignored, a block open at the end of the file ends
there, and a condition EUPS reads otherwise than it looks is read as EUPS reads it.  A
table that reads strictly reads the same leniently, without warnings.

Parsing costs time linear in the text, whatever the text (issue 13).  Tables of the
simplest shapes, which are most tables, are validated by one regular expression over the
whole text, because resolving a 2,000-product stack parses 2,000 tables and must cost little
more than reading them (issue 2's benchmark); every quantifier in those expressions is
possessive, so a line that does not fit is found without backtracking into the lines before
it.  Everything else goes to the general parser (a per-line tokenizer and a recursive-descent
parser), which also builds the statements of fast-path tables when they are needed: both
paths accept the same language and make the same :class:`Table`.

Nesting is bounded: blocks more than :data:`MAX_DEPTH` deep, or conditions nested more than
that, are an :class:`InputError` naming the line, not a ``RecursionError``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, Location, did_you_mean
from .condition import MAX_DEPTH, Condition, TableContext, legacy_flavor_condition, parse_condition
from .eupslines import eups_skipped_lines
from .versions import VersionExpr, check_version, parse_expr, shorten, vercmp

__all__ = [
    "IMPLICIT_PRODUCTS",
    "MAX_DEPTH",
    "Alias",
    "Command",
    "Condition",
    "Dependency",
    "EnvAction",
    "IfBlock",
    "OtherCommand",
    "Statement",
    "Table",
    "TableContext",
    "TableWarning",
    "expand",
    "parse_condition",
    "parse_table",
]

log = logging.getLogger(__name__)

# Canonical command names; the keys are the lower-cased spellings EUPS accepts.
COMMANDS: dict[str, str] = {
    "setuprequired": "setupRequired",
    "setupoptional": "setupOptional",
    "unsetuprequired": "unsetupRequired",
    "unsetupoptional": "unsetupOptional",
    "envprepend": "envPrepend",
    "pathprepend": "envPrepend",
    "envappend": "envAppend",
    "pathappend": "envAppend",
    "envset": "envSet",
    "setenv": "envSet",
    "pathset": "envSet",
    "envunset": "envUnset",
    "unsetenv": "envUnset",
    "envremove": "envRemove",
    "pathremove": "envRemove",
    "addalias": "addAlias",
    "print": "print",
    "declareoptions": "declareOptions",
    "proddir": "prodDir",
    "setupenv": "setupEnv",
}
_CANONICAL = sorted(set(COMMANDS.values()))

#: Dependencies that resolution never follows (spec section 2).
IMPLICIT_PRODUCTS = "implicitProducts"

_KEYWORDS = frozenset({"if", "else"})
_ENV_ARITY = {
    "envPrepend": (2, 3),
    "envAppend": (2, 3),
    "envRemove": (2, 3),
    "envSet": (2, 2),
    "envUnset": (1, 1),
}
_UNTERMINATED_REF = re.compile(r"\$\??\{[^}]*(?:\{|$)")
_PRODUCT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+\-]*$")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# The general parser's tokenizer, one line at a time: blank/comment, a one-line command,
# a legacy mark or assignment, or else token by token (_TOKEN).
_SIMPLE_LINE = re.compile(
    r"[ \t]*+([A-Za-z_]\w*+)[ \t]*+\(([^()\"'#]*+)\)[ \t]*+;?+[ \t]*+(?:#.*)?+"
)
_BLANK_LINE = re.compile(r"[ \t]*+(?:#.*)?+")
_LEGACY_ASSIGN = re.compile(
    r"[ \t]*+(File|Product|Flavor|Qualifiers|Action)[ \t]*+=(.*)", re.IGNORECASE | re.ASCII
)
_LEGACY_NAME = re.compile(r"[\w+.]++")
_QUALIFIERS = re.compile(r'"([^"]*+)"')
_LEGACY_MARK = re.compile(r"[ \t]*+(Group|Common|End)[ \t]*+:[ \t]*+(?:#.*)?+", re.I | re.ASCII)
_TOKEN = re.compile(
    r"(?P<ws>[ \t]+)|(?P<comment>#.*)|(?P<word>[A-Za-z_]\w*)|(?P<lp>\()"
    r"|(?P<lb>\{)|(?P<rb>\})|(?P<semi>;)|(?P<other>.)"
)

# The fast paths: tables whose every line is blank, a comment, ``setupRequired(p)``/
# ``setupOptional(p)``, or a two-argument env command whose value has no quotes, commas,
# parentheses or unterminated ``${``.  Every quantifier is possessive (``*+``, ``?+``) and
# each line's alternatives start differently, so the engine never backtracks into a line
# it has passed: one pass over the text, even when the last line does not fit.  The
# language is a subset of the general parser's, which makes the same statements of it.
_VALUE = r"""[^,()"'#\n${}]*+(?:\$(?:\??\{[^{}\n,()"'#$]*+\}|(?![?{]))[^,()"'#\n${}]*+)*+"""
# Canonical spelling, no indentation, comments on lines of their own: the cheapest.
_STRICT_LINE = (
    r"(?:setup(?:Required|Optional)\([A-Za-z0-9_]++\)"
    r"|env(?:Prepend|Append|Set)\([A-Za-z_][A-Za-z0-9_]*+, ?+" + _VALUE + r"\)"
    r"|#[^\n]*+)?+"
)
_STRICT_TABLE = re.compile(rf"(?:{_STRICT_LINE}\n)*+{_STRICT_LINE}")
_STRICT_DEP = re.compile(r"\nsetup(Required|Optional)\(([A-Za-z0-9_]++)")
# Any case, aliases, blanks around everything, ``;`` after a command (a bare ``;`` is a
# line EUPS skips), trailing comments.  re.ASCII: in a Unicode pattern (?i) lets the long s
# and the Kelvin sign stand for "s" and "k".
_SIMPLE_LINE_RX = (
    r"[ \t]*+(?:(?:(?i:setup(?:required|optional))[ \t]*+\([ \t]*+[A-Za-z0-9_]++[ \t]*+\)"
    r"|(?i:env(?:prepend|append|set)|path(?:prepend|append|set)|setenv)"
    r"[ \t]*+\([ \t]*+[A-Za-z_][A-Za-z0-9_]*+[ \t]*+,[ \t]*+" + _VALUE + r"\))"
    r"[ \t]*+;?+)?+[ \t]*+(?:#[^\n]*+)?+"
)
_SIMPLE_TABLE = re.compile(rf"(?:{_SIMPLE_LINE_RX}\n)*+{_SIMPLE_LINE_RX}", re.ASCII)
_SIMPLE_DEP = re.compile(
    r"^[ \t]*+(?i:setup(required|optional))[ \t]*+\([ \t]*+([A-Za-z0-9_]++)", re.M | re.ASCII
)


# --- the table model -----------------------------------------------------------------


@dataclass(slots=True)
class Dependency:
    """A ``setupRequired``/``setupOptional`` command."""

    product: str
    optional: bool
    line: int
    version: str | None = None
    expr: VersionExpr | None = None
    just: bool = False
    keep: bool = False
    tag: str | None = None
    vro: str | None = None
    root: str | None = None
    external: bool = False

    def accepts(self, version: str) -> bool:
        """Whether ``version`` satisfies the exact version or the expression."""
        if self.expr is not None and self.expr.matches(version):
            return True
        if self.version is not None:
            return vercmp(version, self.version) == 0
        return self.expr is None

    def __str__(self) -> str:
        parts = [self.product]
        if self.version:
            parts.append(self.version)
        if self.expr is not None:
            parts.append(f"[{self.expr}]" if self.version else str(self.expr))
        return " ".join(parts)


@dataclass(slots=True)
class EnvAction:
    """``envPrepend``/``envAppend``/``envSet``/``envUnset``/``envRemove``."""

    command: str
    var: str
    value: str | None
    line: int
    delimiter: str = ":"


@dataclass(frozen=True, slots=True)
class Alias:
    name: str
    value: str
    line: int


@dataclass(frozen=True, slots=True)
class OtherCommand:
    """``print``, ``declareOptions``, ``unsetup*``, ``prodDir``, ``setupEnv``: kept as is."""

    command: str
    args: tuple[str, ...]
    line: int


Command = Dependency | EnvAction | Alias | OtherCommand


@dataclass(frozen=True, slots=True)
class IfBlock:
    """``if (c1) {..} else if (c2) {..} else {..}``: branches in order; None = else."""

    branches: tuple[tuple[Condition | None, tuple[Statement, ...]], ...]
    line: int


Statement = Command | IfBlock


@dataclass(frozen=True, slots=True)
class TableWarning:
    """A line read otherwise than it looks, as real EUPS reads it (lenient reading)."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class Table:
    """A parsed table file.

    A table of the simplest shapes (see :func:`parse_table`) keeps its text: the
    ``(Required|Optional, product)`` pairs resolution needs (:attr:`simple_deps`), the
    dependencies and the statements are made on first use, the statements by the general
    parser.  Other tables are parsed whole at once.
    """

    __slots__ = (
        "_dep_rx", "_deps", "_simple", "_statements", "_text", "flat", "path", "warnings"
    )  # fmt: skip

    def __init__(
        self,
        path: str,
        statements: tuple[Statement, ...],
        flat: bool = True,
        warnings: tuple[TableWarning, ...] = (),
    ) -> None:
        self.path = path
        #: True when no statement sits in a block, so evaluation is a plain copy.
        self.flat = flat
        #: Lines a lenient reading skipped, and what real EUPS reads otherwise than it
        #: looks (a pattern it cuts short; when lenient, any condition it misreads).
        self.warnings = warnings
        self._statements: tuple[Statement, ...] | None = statements
        self._text: str | None = None
        self._dep_rx: re.Pattern[str] | None = None
        self._simple: list[tuple[str, str]] | None = None
        self._deps: tuple[Dependency, ...] | None = None

    @classmethod
    def _of_simple_text(cls, path: str, text: str, dep_rx: re.Pattern[str]) -> Table:
        """A table whose text a fast path validated; ``dep_rx`` finds its dependencies."""
        table = cls(path, (), True)
        table._statements = None
        table._text = text
        table._dep_rx = dep_rx
        return table

    @property
    def simple_deps(self) -> list[tuple[str, str]] | None:
        """For the simplest tables, ``(Required|Optional, product)`` pairs straight from a
        regular expression: all resolution needs, at no cost per dependency.  None for
        other tables."""
        if self._simple is None and self._dep_rx is not None:
            assert self._text is not None
            text = "\n" + self._text if self._dep_rx is _STRICT_DEP else self._text
            self._simple = self._dep_rx.findall(text)
        return self._simple

    @property
    def flat_deps(self) -> tuple[Dependency, ...]:
        """The dependencies of a flat table."""
        if self._deps is None:
            if self._text is not None:
                assert self._dep_rx is not None
                self._deps = _simple_dependencies(self._text, self._dep_rx)
            else:
                self._deps = tuple(s for s in self.statements if isinstance(s, Dependency))
        return self._deps

    @property
    def statements(self) -> tuple[Statement, ...]:
        if self._statements is None:
            assert self._text is not None
            full = _parse_blocks(self._text, self.path, strict=True).statements
            # keep the dependency objects already handed out
            deps = iter(self.flat_deps)
            statements = []
            for st in full:
                if isinstance(st, Dependency):
                    dep = next(deps)
                    assert dep == st, "the fast path and the general parser disagree"
                    st = dep
                statements.append(st)
            assert next(deps, None) is None
            self._statements = tuple(statements)
        return self._statements

    def __repr__(self) -> str:
        return f"Table({self.path!r}, {len(self.statements)} statements)"

    def commands(self, ctx: TableContext | None = None) -> list[Command]:
        """The commands that apply under ``ctx``, in file order."""
        if self.flat:
            return list(self.statements)  # type: ignore[arg-type]
        out: list[Command] = []
        _flatten(self.statements, ctx or TableContext(), out)
        return out

    def dependencies(self, ctx: TableContext | None = None) -> list[Dependency]:
        if self.flat:
            return list(self.flat_deps)
        return [c for c in self.commands(ctx) if isinstance(c, Dependency)]

    def env_actions(self, ctx: TableContext | None = None) -> list[EnvAction]:
        return [c for c in self.commands(ctx) if isinstance(c, EnvAction)]

    def all_commands(self) -> Iterator[Command]:
        """Every command, in every branch."""
        yield from _walk(self.statements)

    def location(self, line: int) -> Location:
        return Location(self.path, line)


def _flatten(stmts: Sequence[Statement], ctx: TableContext, out: list[Command]) -> None:
    """Append the commands that apply under ``ctx`` to ``out``; iterative, any depth."""
    stack = [iter(stmts)]
    while stack:
        for st in stack[-1]:
            if isinstance(st, IfBlock):
                body = next(
                    (b for cond, b in st.branches if cond is None or cond.evaluate(ctx)), None
                )
                if body:
                    stack.append(iter(body))
                    break
            else:
                out.append(st)
        else:
            stack.pop()


def _walk(stmts: Sequence[Statement]) -> Iterator[Command]:
    """Every command in every branch, in file order; iterative, any depth."""
    stack = [iter(stmts)]
    while stack:
        for st in stack[-1]:
            if isinstance(st, IfBlock):
                stack.extend(iter(body) for _, body in reversed(st.branches))
                break
            yield st
        else:
            stack.pop()


# --- parsing -------------------------------------------------------------------------


class _Tok:
    __slots__ = ("col", "kind", "line", "text", "value")

    def __init__(self, kind: str, line: int, col: int, text: str = "", value: str = "") -> None:
        self.kind = kind  # cmd, word, group, lb, rb, semi, assign, mark
        self.line = line
        self.col = col
        self.text = text
        self.value = value


def _scan_group(line: str, start: int, path: str, lineno: int) -> int:
    """Index just past the ``)`` matching the ``(`` at ``start``; quotes respected."""
    depth = 0
    quote = ""
    i = start
    n = len(line)
    while i < n:
        ch = line[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    what = "unterminated quote" if quote else "unbalanced parenthesis"
    raise InputError(what, location=Location(path, lineno, start + 1))


def _tokenize(text: str, path: str, skip: Container[int] = ()) -> list[_Tok]:
    """The tokens of every line but those in ``skip``."""
    toks: list[_Tok] = []
    simple = _SIMPLE_LINE.fullmatch
    blank = _BLANK_LINE.fullmatch
    for lineno, line in enumerate(text.split("\n"), 1):
        if lineno in skip:
            continue
        m = simple(line)
        if m is not None and m.group(1).lower() not in _KEYWORDS:
            toks.append(_Tok("cmd", lineno, m.start(1) + 1, m.group(1), m.group(2)))
            continue
        if blank(line):
            continue
        m = _LEGACY_MARK.fullmatch(line)
        if m is not None:
            toks.append(_Tok("mark", lineno, m.start(1) + 1, m.group(1).lower()))
            continue
        m = _LEGACY_ASSIGN.fullmatch(line)
        if m is not None and not (value := m.group(2).strip(" \t")).startswith("="):
            toks.append(_Tok("assign", lineno, m.start(1) + 1, m.group(1).lower(), value))
            continue
        _tokenize_line(line, lineno, path, toks)
    return toks


def _tokenize_line(line: str, lineno: int, path: str, toks: list[_Tok]) -> None:
    pos = 0
    n = len(line)
    while pos < n:
        m = _TOKEN.match(line, pos)
        assert m is not None  # the "other" alternative matches any character
        kind = m.lastgroup
        if kind == "ws":
            pos = m.end()
            continue
        if kind == "comment":
            return
        col = pos + 1
        if kind == "lp":
            end = _scan_group(line, pos, path, lineno)
            toks.append(_Tok("group", lineno, col, line[pos:end], line[pos + 1 : end - 1]))
            pos = end
            continue
        if kind == "other":
            ch = m.group()
            msg = "unbalanced parenthesis" if ch == ")" else f"unexpected character {ch!r}"
            raise InputError(msg, location=Location(path, lineno, col))
        assert kind is not None
        toks.append(_Tok(kind, lineno, col, m.group()))
        pos = m.end()


class _Parser:
    def __init__(self, toks: list[_Tok], path: str, *, strict: bool) -> None:
        self.toks = toks
        self.path = path
        self.i = 0
        self.flat = True
        self.depth = 0  # blocks open
        self.strict = strict
        self.warnings: list[TableWarning] = []

    def loc(self, tok: _Tok) -> Location:
        return Location(self.path, tok.line, tok.col)

    def warn(self, where: Location, message: str) -> None:
        self.warnings.append(TableWarning(where, message))

    def error(self, message: str, tok: _Tok | None, hint: str | None = None) -> InputError:
        if tok is None:
            return InputError(message + " at end of file", location=self.end(), hint=hint)
        return InputError(message, location=self.loc(tok), hint=hint)

    def end(self) -> Location:
        last = self.toks[-1] if self.toks else None
        return Location(self.path, last.line if last else 1)

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def parse(self) -> tuple[Statement, ...]:
        out = self.block_body(top=True)
        return tuple(out)

    def block_body(self, *, top: bool) -> list[Statement]:
        out: list[Statement] = []
        while (tok := self.peek()) is not None:
            if tok.kind == "rb":
                if not top:
                    return out
                if self.strict:
                    raise self.error("'}' without a matching '{'", tok)
                self.warn(self.loc(tok), "'}' without a matching '{': ignored, as real EUPS does")
                self.i += 1
                continue
            self.statement(out)
        if not top:
            if self.strict:
                raise self.error("missing '}'", None)
            self.warn(
                self.end(), "missing '}' at end of file: the block ends there, as in real EUPS"
            )
        return out

    def statement(self, out: list[Statement]) -> None:
        tok = self.toks[self.i]
        kind = tok.kind
        if kind == "cmd":
            self.i += 1
            out.append(_command(tok.text, tok.value, tok.line, tok.col, self.path))
            return
        if kind == "semi":
            self.i += 1
            return
        if kind == "mark" and tok.text == "group":
            self.i += 1
            out.append(self.legacy_group(tok))
            return
        if kind in ("mark", "assign"):
            self.i += 1
            if kind == "mark":
                raise self.error(f"{tok.text.capitalize()}: outside a Group: block", tok)
            self.legacy_assign(tok)
            return
        if kind == "word":
            keyword = tok.text.lower()
            if keyword == "if":
                self.i += 1
                out.append(self.if_block(tok))
                return
            if keyword == "else":
                raise self.error("'else' without a preceding 'if' block", tok)
            nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
            if nxt is not None and nxt.kind == "group" and nxt.line == tok.line:
                self.i += 2
                out.append(_command(tok.text, nxt.value, tok.line, tok.col, self.path))
                while (t := self.peek()) is not None and t.kind == "semi" and t.line == tok.line:
                    self.i += 1
                return
            raise self.error(f"expected a command call like {tok.text}(...)", tok)
        if kind == "group":
            raise self.error("parenthesis without a command name", tok)
        if kind == "lb":
            raise self.error("'{' without 'if'", tok)
        raise self.error(f"unexpected {tok.text!r}", tok)

    def legacy_assign(self, tok: _Tok) -> None:
        """``File = Table``, ``Product = x``, ``Action = setup``, ``Qualifiers = ""``:
        header lines EUPS takes and ignores, or fails on."""
        name = _LEGACY_NAME.match(tok.value)
        value = name.group() if name else ""
        if tok.text == "flavor":
            raise self.error("Flavor = outside a Group: block", tok)
        if tok.text == "file" and value and value.lower() != "table":
            raise self.error(f"expected 'File = Table', not 'File = {value}'", tok)
        if tok.text == "action" and value and "setup" not in value.lower():
            raise self.error(f"unsupported 'Action = {value}' (EUPS knows only setup)", tok)
        quoted = _QUALIFIERS.match(tok.value)
        if tok.text == "qualifiers" and quoted is not None and quoted.group(1):
            self.warn(self.loc(tok), f"qualifiers {quoted.group(1)!r} ignored, as real EUPS does")

    def enter(self, start: _Tok) -> None:
        """A block opens at ``start``; too deep is an error naming its line."""
        self.flat = False
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"blocks nested more than {MAX_DEPTH} deep", start)

    def expect(self, kind: str, what: str, after: _Tok) -> _Tok:
        tok = self.peek()
        if tok is None or tok.kind != kind:
            raise self.error(f"expected {what} after {after.text!r}", tok or None)
        self.i += 1
        return tok

    def condition(self, group: _Tok) -> Condition:
        problems: list[str] = []
        where = self.loc(group)
        cond = parse_condition(group.value, where, strict=self.strict, warnings=problems)
        for problem in problems:
            self.warn(where, problem)
        return cond

    def close(self) -> None:
        """Past the ``}`` that ends a block (none at the end of a lenient reading)."""
        if self.i < len(self.toks):
            self.i += 1

    def if_block(self, start: _Tok) -> IfBlock:
        self.enter(start)
        branches: list[tuple[Condition | None, tuple[Statement, ...]]] = []
        keyword = start  # the 'if' of this branch
        while True:
            cond_tok = self.expect("group", "a '(condition)'", keyword)
            cond = self.condition(cond_tok)
            self.expect("lb", "'{'", cond_tok)
            branches.append((cond, tuple(self.block_body(top=False))))
            self.close()
            tok = self.peek()
            if tok is None or tok.kind != "word" or tok.text.lower() != "else":
                break
            self.i += 1
            keyword = self.toks[self.i] if self.i < len(self.toks) else tok
            if keyword.kind == "word" and keyword.text.lower() == "if":
                self.i += 1
                continue
            if tok.text != "else":  # EUPS takes the line, then reads "ELSE" as no else
                raise self.error(f"write 'else', not {tok.text!r}: real EUPS fails on it", tok)
            self.expect("lb", "'{'", tok)
            branches.append((None, tuple(self.block_body(top=False))))
            self.close()
            break
        self.depth -= 1
        return IfBlock(tuple(branches), start.line)

    def legacy_group(self, start: _Tok) -> IfBlock:
        """``Group: Flavor = X ... Common: cmds End:`` -> if (FLAVOR == X || ...) {cmds}."""
        self.enter(start)
        flavors: list[str] = []
        body: list[Statement] = []
        in_common = False
        while (tok := self.peek()) is not None:
            if tok.kind == "mark" and tok.text == "end":
                self.i += 1
                break
            if tok.kind == "mark" and tok.text == "common":
                self.i += 1
                in_common = True
                continue
            if tok.kind == "mark" and tok.text == "group":
                raise self.error("'Group:' inside a Group: block (missing 'End:'?)", tok)
            if tok.kind == "assign" and tok.text == "flavor":
                self.i += 1
                # EUPS takes the name at the start; a line without one it skips
                name = _LEGACY_NAME.match(tok.value)
                if name is not None:
                    flavors.append(name.group())
                continue
            if tok.kind == "assign":
                self.i += 1
                self.legacy_assign(tok)
                continue
            if not in_common:
                raise self.error("commands in a Group: block must follow 'Common:'", tok)
            self.statement(body)
        else:
            if self.strict:
                raise self.error("Group: block without 'End:'", start)
            self.warn(
                self.loc(start),
                "Group: block without 'End:': it ends at the end of file, as in real EUPS",
            )
        self.depth -= 1
        cond = legacy_flavor_condition(flavors, self.loc(start))
        return IfBlock(((cond, tuple(body)),), start.line)


# --- commands --------------------------------------------------------------------------


def _split_args(args: str) -> list[str]:
    """Split on top-level commas; strip whitespace and one level of quotes."""
    if '"' not in args and "'" not in args:
        return [p.strip() for p in args.split(",")]
    else:
        parts = []
        cur: list[str] = []
        quote = ""
        for ch in args:
            if quote:
                if ch == quote:
                    quote = ""
                cur.append(ch)
            elif ch in "\"'":
                quote = ch
                cur.append(ch)
            elif ch == ",":
                parts.append("".join(cur))
                cur = []
            else:
                cur.append(ch)
        parts.append("".join(cur))
    out = []
    for p in parts:
        p = p.strip()
        if len(p) >= 2 and p[0] == p[-1] and p[0] in "\"'":
            p = p[1:-1]
        out.append(p)
    return out


def _command(name: str, args: str, line: int, col: int, path: str) -> Command:
    canonical = COMMANDS.get(name.lower())
    if canonical is None:
        raise InputError(
            f"unknown command {name!r}",
            location=Location(path, line, col),
            hint=did_you_mean(name, _CANONICAL),
        )
    if canonical == "setupRequired" or canonical == "setupOptional":
        return _setup(canonical, args, line, col + len(name) + 1, path)
    arity = _ENV_ARITY.get(canonical)
    if arity is not None:
        parts = _split_args(args)
        nmin, nmax = arity
        if not (nmin <= len(parts) <= nmax) or not parts[0]:
            want = "VAR" if nmax == 1 else ("VAR, value" if nmax == 2 else "VAR, value[, delim]")
            raise InputError(
                f"{canonical} takes ({want}), got ({args.strip()})",
                location=Location(path, line, col),
            )
        var = parts[0]
        if not _VAR_NAME.match(var):
            raise InputError(
                f"{canonical}: invalid variable name {var!r}", location=Location(path, line, col)
            )
        value = parts[1] if len(parts) > 1 else None
        if value is not None and "{" in value and _UNTERMINATED_REF.search(value):
            raise InputError("unterminated '${'", location=Location(path, line, col))
        delim = parts[2] if len(parts) > 2 else ":"
        return EnvAction(canonical, var, value, line, delim or ":")
    where = Location(path, line, col)
    if canonical == "addAlias":
        parts = _split_args(args)
        if len(parts) < 2 or not parts[0]:
            raise InputError("addAlias takes (name, value)", location=where)
        return Alias(parts[0], ",".join(parts[1:]).strip(), line)
    return OtherCommand(canonical, tuple(_split_args(args)) if args.strip() else (), line)


_FLAGS_WITH_VALUE = {"-t": "tag", "--tag": "tag", "--vro": "vro", "-r": "root", "--root": "root"}
_FLAGS_BOOL = {"-j": "just", "--just": "just", "-k": "keep", "--keep": "keep",
               "--external": "external", "-q": "", "--quiet": ""}  # fmt: skip


def _setup(command: str, args: str, line: int, col: int, path: str) -> Dependency:
    optional = command == "setupOptional"
    text = args.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    where = Location(path, line, col)
    # Fast path: just a product name.
    if _PRODUCT_NAME.match(text) and " " not in text:
        return Dependency(text, optional, line)
    if not text:
        raise InputError(f"{command}: missing product name", location=where)
    words = text.split()
    opts: dict[str, str | bool] = {}
    rest: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w.startswith("-") and len(w) > 1 and not "0" <= w[1] <= "9":
            flag, eq, val = w.partition("=")
            if flag in _FLAGS_WITH_VALUE:
                if not eq:
                    i += 1
                    if i >= len(words):
                        raise InputError(f"{command}: {flag} needs a value", location=where)
                    val = words[i]
                opts[_FLAGS_WITH_VALUE[flag]] = val
            elif flag in _FLAGS_BOOL and not eq:
                if _FLAGS_BOOL[flag]:
                    opts[_FLAGS_BOOL[flag]] = True
            else:
                known = list(_FLAGS_WITH_VALUE) + list(_FLAGS_BOOL)
                raise InputError(
                    f"{command}: unknown flag {flag!r}",
                    location=where,
                    hint=did_you_mean(flag, known),
                )
        else:
            rest.append(w)
        i += 1
    if not rest:
        raise InputError(f"{command}: missing product name", location=where)
    product = rest[0]
    if not _PRODUCT_NAME.match(product):
        raise InputError(f"{command}: invalid product name {product!r}", location=where)
    version, expr = _version_spec(" ".join(rest[1:]), where, command)
    return Dependency(
        product,
        optional,
        line,
        version=version,
        expr=expr,
        just=bool(opts.get("just", False)),
        keep=bool(opts.get("keep", False)),
        tag=_str_opt(opts.get("tag")),
        vro=_str_opt(opts.get("vro")),
        root=_str_opt(opts.get("root")),
        external=bool(opts.get("external", False)),
    )


def _str_opt(value: str | bool | None) -> str | None:
    return value if isinstance(value, str) else None


def _version_spec(
    spec: str, where: Location, command: str
) -> tuple[str | None, VersionExpr | None]:
    spec = spec.strip()
    if not spec:
        return None, None
    if spec[0] == "[":
        if not spec.endswith("]"):
            raise InputError(f"{command}: '[' without a closing ']'", location=where)
        return None, parse_expr(spec[1:-1], where)
    if spec[0] in "<>=!(":
        return None, parse_expr(spec, where)
    version, _, tail = spec.partition(" ")
    if "[" in version:
        version, _, more = version.partition("[")
        tail = "[" + more + (" " + tail if tail else "")
    check_version(version, where)
    tail = tail.strip()
    if not tail:
        return version, None
    if tail[0] != "[" or not tail.endswith("]"):
        raise InputError(
            f"{command}: after the version {version!r} expected '[expression]', got {tail!r}",
            location=where,
        )
    return version, parse_expr(tail[1:-1], where)


# --- variables -----------------------------------------------------------------------

_REF = re.compile(r"\$(\?)?\{([^{}]*)\}")


def expand(value: str, lookup: Callable[[str], str | None]) -> str | None:
    """Expand ``${VAR}``, ``${VAR-default}`` and ``$?{VAR}``.

    ``lookup`` returns a variable's value or None when unset.  An unset ``$?{VAR}`` makes
    the whole value None: the caller drops the line, as EUPS does.  An unset ``${VAR}``
    without a default expands to the empty string.
    """
    dropped = False

    def sub(m: re.Match[str]) -> str:
        nonlocal dropped
        guard, body = m.group(1), m.group(2)
        name, dash, default = body.partition("-")
        val = lookup(name)
        if val is None:
            if guard:
                dropped = True
                return ""
            return default if dash else ""
        return val

    out = _REF.sub(sub, value)
    return None if dropped else out


# --- entry points --------------------------------------------------------------------


def _simple_dependencies(text: str, dep_rx: re.Pattern[str]) -> tuple[Dependency, ...]:
    """The dependencies of a fast-path table, with their lines."""
    if dep_rx is _STRICT_DEP:  # each match starts with the newline before its line
        text = "\n" + text
        line, offset = 0, 1
    else:
        line, offset = 1, 0
    deps = []
    pos = 0
    count = text.count
    for m in dep_rx.finditer(text):
        end = m.start() + offset
        line += count("\n", pos, end)
        pos = end
        kind, product = m.groups()
        deps.append(Dependency(product, kind[0] in "Oo", line))
    return tuple(deps)


def parse_table(
    text: str,
    path: str | Path = "<table>",
    *,
    fast: bool = True,
    strict: bool = True,
    log_warnings: bool | None = None,
) -> Table:
    """Parse a table file's text; errors name ``path:line:column``.

    In time linear in the text.  ``strict=False`` reads as real EUPS does: a line EUPS
    skips is skipped, with a warning (in :attr:`Table.warnings`, and logged unless
    ``log_warnings`` is False; by default only lenient readings log).  ``fast=False``
    skips the fast paths (the general parser makes the same table: the tests compare
    the two).
    """
    p = str(path)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if fast:
        if _STRICT_TABLE.fullmatch(text) is not None:
            return Table._of_simple_text(p, text, _STRICT_DEP)
        if _SIMPLE_TABLE.fullmatch(text) is not None:
            return Table._of_simple_text(p, text, _SIMPLE_DEP)
    table = _parse_blocks(text, p, strict=strict)
    if log_warnings or (log_warnings is None and not strict):
        for warning in table.warnings:
            log.warning("%s", warning)
    return table


def _parse_blocks(text: str, path: str, *, strict: bool = True) -> Table:
    """The general parser: blocks, legacy groups, multi-token lines, exact error columns."""
    skipped = eups_skipped_lines(text)
    if strict:
        parser = _Parser(_tokenize_strictly(text, path, skipped), path, strict=True)
        try:
            stmts = parser.parse()
        except InputError as exc:
            raise _first_problem(exc, text, path, skipped) from None
        if skipped:
            raise _skipped_line_error(text, path, min(skipped), skipped)
        return Table(path, stmts, parser.flat, tuple(parser.warnings))
    parser = _Parser(_tokenize(text, path, skipped), path, strict=False)
    warnings: list[TableWarning] = []
    if skipped:
        lines = text.split("\n")
        for n, why in sorted(skipped.items()):
            where = _line_location(lines, path, n)
            shown = shorten(lines[n - 1].strip())
            warnings.append(
                TableWarning(where, f"line skipped, as real EUPS skips it ({why!r}): {shown}")
            )
    stmts = parser.parse()
    warnings += parser.warnings
    warnings.sort(key=lambda w: w.location.line or 0)
    return Table(path, stmts, parser.flat, tuple(warnings))


def _tokenize_strictly(text: str, path: str, skipped: Mapping[int, str]) -> list[_Tok]:
    try:
        return _tokenize(text, path)
    except InputError as exc:
        raise _first_problem(exc, text, path, skipped) from None


def _first_problem(exc: InputError, text: str, path: str, skipped: Mapping[int, str]) -> InputError:
    """The parser's error, or an earlier line EUPS skips; a hint when EUPS skips it."""
    line = exc.location.line if exc.location is not None else None
    if skipped and line is not None and min(skipped) < line:
        return _skipped_line_error(text, path, min(skipped), skipped)
    if line is not None and line in skipped and exc.hint is None:
        exc.hint = _LENIENT_HINT
    return exc


_LENIENT_HINT = (
    "real EUPS skips this line with a warning; so do resolve, build and setup "
    "(`lint-table --no-strict` shows that reading)"
)


def _skipped_line_error(text: str, path: str, line: int, skipped: Mapping[int, str]) -> InputError:
    lines = text.split("\n")
    more = len(skipped) - 1
    also = f" (and {more} more line{'s' if more > 1 else ''})" if more else ""
    return InputError(
        f"real EUPS skips this line ({skipped[line]!r}): {shorten(lines[line - 1].strip())}" + also,
        location=_line_location(lines, path, line),
        hint=_LENIENT_HINT,
    )


def _line_location(lines: Sequence[str], path: str, line: int) -> Location:
    """``path:line:column`` of the line's first non-blank character."""
    content = lines[line - 1]
    return Location(path, line, len(content) - len(content.lstrip()) + 1)
