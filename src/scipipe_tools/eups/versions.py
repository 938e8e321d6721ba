r"""EUPS version ordering and version expressions (spec section 10).

The comparison follows EUPS: a version splits into a primary part, a ``-pre`` part and a
``+post`` part (``1.2-rc1 < 1.2 < 1.2+1``); a trailing ``m<N>``/``p<N>`` on the primary acts
as pre/post (``1.2m1 < 1.2 < 1.2p1``); a version with two or more ``-`` is all primary.
Parts split on ``.`` and ``_`` compare integers numerically and letter-prefixed numbers by
their number (``rc2 < rc10``); when all compared parts are equal the longer one is greater.

EUPS compares mixed parts such as ``9`` and ``10a`` as strings, which is not transitive
(``9 < 10 < 10a < 9``).  Here every part is compared as a sequence of digit and non-digit
runs instead (digits before letters, as in ASCII), which agrees with EUPS on every pair
EUPS orders consistently and makes the comparison a total preorder: ``sorted(key=sort_key)``
and :func:`vercmp` always agree.

Only ASCII ``0-9`` are digits.  ``str.isdigit`` and ``\d`` also accept ``²``, ``٣`` or ``３``,
and EUPS, which tries ``int()`` on each part, compares ``٣`` as 3 but ``²`` (which ``int``
refuses) as text; here every non-ASCII character is text, so any string compares and
nothing crashes.  Numbers compare by value without ``int()``: no digit limit, linear time.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ..errors import InputError, Location

_PART_SPLIT = re.compile(r"[._]")
_RUNS = re.compile(r"[0-9]++|[^0-9]++")
_MP_SUFFIX = re.compile(r"(.*[0-9])([mp])([0-9]++)", re.DOTALL)

#: Deepest nesting of parentheses in a version expression.
MAX_DEPTH = 100

#: ``(0, length, digits)`` for a number (leading zeros dropped: the length orders numbers by
#: magnitude, the digits then by value), ``(1, 0, text)`` for anything else.
Token = tuple[int, int, str]
PartKey = tuple[Token, ...]


def _token(run: str) -> Token:
    if "0" <= run[0] <= "9":
        digits = run.lstrip("0")
        return (0, len(digits), digits)
    return (1, 0, run)


def _part_key(part: str) -> PartKey:
    return tuple(map(_token, _RUNS.findall(part)))


def _parts_key(text: str) -> tuple[PartKey, ...]:
    if not text:
        return ()
    return tuple(_part_key(p) for p in _PART_SPLIT.split(text))


def split_version(version: str) -> tuple[str, str | None, str | None]:
    """Split into (primary, pre, post); pre and post are None when absent."""
    if version.count("-") >= 2:
        return version, None, None
    primary, plus, post = version.partition("+")
    primary, dash, pre = primary.partition("-")
    pre_part: str | None = pre if dash else None
    post_part: str | None = post if plus else None
    if pre_part is None and post_part is None:
        m = _MP_SUFFIX.fullmatch(primary)
        if m:
            primary = m.group(1)
            if m.group(2) == "m":
                pre_part = m.group(3)
            else:
                post_part = m.group(3)
    return primary, pre_part, post_part


VersionKey = tuple[tuple[PartKey, ...], int, tuple[PartKey, ...], tuple[PartKey, ...]]


@functools.lru_cache(maxsize=65536)
def version_key(version: str) -> VersionKey:
    """The EUPS ordering key; equal keys mean EUPS considers the versions equal."""
    primary, pre, post = split_version(version)
    return (
        _parts_key(primary),
        0 if pre is not None else 1,
        _parts_key(pre or ""),
        _parts_key(post or ""),
    )


def sort_key(version: str) -> tuple[VersionKey, str]:
    """A strict total order: the EUPS order, ties broken by the text itself."""
    return version_key(version), version


def vercmp(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` sorts before, equal to, or after ``b`` in EUPS order."""
    ka, kb = version_key(a), version_key(b)
    return (ka > kb) - (ka < kb)


# --- version expressions -------------------------------------------------------------

_OPS = ("<=", ">=", "==", "<", ">")


@dataclass(frozen=True, slots=True)
class Comparison:
    op: str
    version: str

    def matches(self, version: str) -> bool:
        c = vercmp(version, self.version)
        return {
            "==": c == 0,
            "<": c < 0,
            "<=": c <= 0,
            ">": c > 0,
            ">=": c >= 0,
        }[self.op]

    def __str__(self) -> str:
        return f"{self.op} {self.version}"


@dataclass(frozen=True, slots=True)
class AllOf:
    terms: tuple[VersionExpr, ...]

    def matches(self, version: str) -> bool:
        return all(t.matches(version) for t in self.terms)

    def __str__(self) -> str:
        return " && ".join(_wrap(t, AnyOf) for t in self.terms)


@dataclass(frozen=True, slots=True)
class AnyOf:
    terms: tuple[VersionExpr, ...]

    def matches(self, version: str) -> bool:
        return any(t.matches(version) for t in self.terms)

    def __str__(self) -> str:
        return " || ".join(str(t) for t in self.terms)


VersionExpr = Comparison | AllOf | AnyOf


def _wrap(expr: VersionExpr, kind: type) -> str:
    return f"({expr})" if isinstance(expr, kind) else str(expr)


_EXPR_TOKEN = re.compile(
    r"\s*(?:(?P<op><=|>=|==|!=|=<|=>|<|>|=)|(?P<or>\|\||\bor\b)|(?P<and>&&|\band\b)"
    r"|(?P<lp>\()|(?P<rp>\))|(?P<word>[^\s()<>=!&|]+)|(?P<bad>\S))"
)


class _ExprParser:
    def __init__(self, text: str, where: Location | None) -> None:
        self.text = text
        self.where = where
        self.depth = 0
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            m = _EXPR_TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                break
            kind = m.lastgroup or "bad"
            self.tokens.append((kind, m.group(kind), m.start(kind)))
            pos = m.end()
        self.i = 0

    def error(self, message: str) -> InputError:
        # Points at the caller's location (the command), which is where users look.
        text = shorten(self.text.strip())
        return InputError(f"version expression {text!r}: {message}", location=self.where)

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> VersionExpr:
        if not self.tokens:
            raise self.error("empty expression")
        expr = self.parse_or()
        tok = self.peek()
        if tok is not None:
            raise self.error(f"unexpected {tok[1]!r}")
        return expr

    def parse_or(self) -> VersionExpr:
        terms = [self.parse_and()]
        while (tok := self.peek()) is not None and tok[0] == "or":
            self.take()
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else AnyOf(tuple(terms))

    def parse_and(self) -> VersionExpr:
        terms = [self.parse_term()]
        while (tok := self.peek()) is not None and tok[0] == "and":
            self.take()
            terms.append(self.parse_term())
        return terms[0] if len(terms) == 1 else AllOf(tuple(terms))

    def parse_term(self) -> VersionExpr:
        tok = self.peek()
        if tok is None:
            raise self.error("expression ends too early")
        kind, value, _ = tok
        if kind == "lp":
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error(f"parentheses nested more than {MAX_DEPTH} deep")
            inner = self.parse_or()
            self.depth -= 1
            close = self.peek()
            if close is None or close[0] != "rp":
                raise self.error("unbalanced parenthesis")
            self.take()
            return inner
        if kind == "op":
            self.take()
            if value not in _OPS:
                hint = {"=": "==", "=<": "<=", "=>": ">=", "!=": None}.get(value)
                msg = f"invalid operator {value!r}"
                if hint:
                    msg += f" (did you mean {hint!r}?)"
                raise self.error(msg)
            ver = self.peek()
            if ver is None or ver[0] != "word":
                raise self.error(f"operator {value!r} needs a version")
            self.take()
            return Comparison(value, ver[1])
        if kind == "word":
            self.take()
            return Comparison("==", value)
        raise self.error(f"unexpected {value!r}")


def shorten(text: str, limit: int = 60) -> str:
    """``text`` cut to about ``limit`` characters, for an error message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_expr(text: str, where: Location | None = None) -> VersionExpr:
    """Parse ``>= 1.2 && < 2 || == 3`` (also ``and``/``or``, parentheses)."""
    return _ExprParser(text, where).parse()


def check_version(text: str, where: Location | None = None) -> str:
    """Validate a bare version string (no whitespace, no operators)."""
    if not text or re.search(r"[\s<>=!&|()\[\]]", text):
        raise InputError(f"invalid version {text!r}", location=where)
    return text
