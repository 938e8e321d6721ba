"""``if (...)`` conditions in table files, read and evaluated as EUPS 2.2.15 does.

The language (EUPS's ``VersionParser``, described here and reimplemented):

- Quotes: every ``'...'`` or ``"..."`` holding no quote is replaced by its content first, so
  ``"Linux64"`` is ``Linux64`` (and ``"a b"`` is two words).
- Tokens: ``${...}`` and ``$?{...}``, words of letters, digits, ``_``, ``.`` and ``+``,
  ``==``, ``!=``, ``<=``, ``>=``, ``<``, ``>``, ``(``, ``)``; every other run of
  characters without blanks is one token too (``||``, ``&&``, ``!``, ``=~``, ``!~``, but
  also ``&&!``, ``*`` or ``^``).
- Grammar, with the recursion EUPS has::

      expr := term (('||' | 'or' | '&&' | 'and') term)*
      term := prim [('==' | '!=' | '<' | '<=' | '>' | '>=' | '=~' | '!~') prim]
      prim := '(' expr ')' | ('!' | 'not') expr | value

  ``and``/``or`` have the same precedence and group to the right: evaluation goes left to
  right and stops at the first term that decides (``a && b || c`` is ``a && (b || c)``).
  ``!`` and ``not`` apply to the whole rest of the expression (``! a == b && c`` is
  ``!(a == b && c)``).  Only lower-case ``and``, ``or``, ``not`` are operators.
- Values: ``flavor`` and ``type`` in any case are the flavor and the list of setup types
  (``type`` is defined only when some type is set; ``type == x`` is membership);
  ``${VAR}`` is the environment variable (EUPS fails when it is not set) and
  ``${VAR:-default}`` its default when unset (an empty default or ``false`` is false);
  a word that reads as an integer is an integer (``01 == 1``), ``True`` and ``False`` are
  booleans, any other word is itself.  ``=~`` is a regular-expression *search*; ``<`` and
  friends compare Python values (text compares as text: ``1.10 < 1.9``).  The condition
  holds when its value is true (a bare word is true, ``0`` is false).

EUPS evaluates lazily and fails at evaluation time (not when reading the table) on an
unset ``${VAR}``, on comparing text with a number, on a bad pattern, and on a parenthesis
whose ``||``/``&&`` decides early: EUPS then stops reading inside the parentheses and
finds no ``)``.  :meth:`Condition.evaluate` does what EUPS does, and raises an
:class:`InputError` naming the condition where EUPS fails.

Reading is linear in the text; nesting (parentheses and ``!``) is bounded by
:data:`MAX_DEPTH`.  :func:`check_condition` says what in a condition EUPS reads otherwise
than it looks (text it ignores, operators it does not know, ``||`` inside parentheses):
an error when reading strictly (``lint-table``), a warning otherwise.
"""

from __future__ import annotations

import contextlib
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import InputError, Location
from .versions import shorten

#: How deep blocks (``if``, ``Group:``) and conditions (parentheses, ``!``) may nest.
MAX_DEPTH = 100

_EOF = "EOF"  # what EUPS's reader sees past the last token (a word "EOF" reads the same)

# Quotes go first; then the specials, and runs of anything else between them.  Every
# quantifier is possessive or bounded: one pass, whatever the text.
_QUOTED = re.compile(r"""['"]([^'"]++)['"]""")
_SPLIT = re.compile(r"(\$\??\{[^}]++\}|[\w.+]++|\s++|==|!=|<=|>=|[()<>])")
_SPLIT_AFTER_BRACES = re.compile(r"([\w.+]++|\s++|==|!=|<=|>=|[()<>])")
_WORD = re.compile(r"[\w.+]++")
_REF_TOKEN = re.compile(r"\$\??\{[^}]++\}")
_ENV_REF = re.compile(r"\$\{([^:}]*+)(:-([^}*]*+))?+\}")

_BOOL_OPS = frozenset({"||", "or", "&&", "and"})
_CMP_OPS = frozenset({"==", "!=", "<", "<=", ">", ">=", "=~", "!~"})
_NOT = frozenset({"!", "not"})


def tokens(text: str) -> tuple[str, ...]:
    """The tokens EUPS reads in a condition."""
    return _tokens_and_glue(text)[0]


def _pieces(text: str) -> list[str]:
    """The tokens, the blanks between them, and empty strings."""
    text = _QUOTED.sub(r"\1", text)
    # After the last '}' no '${...}' can match: split that part without trying, or each
    # '${' there would look for a '}' to the end of the text (quadratic).  No token
    # crosses the cut (it follows a '}'), except a run of other characters, joined here.
    cut = text.rfind("}") + 1
    pieces = _SPLIT.split(text[:cut])
    tail = _SPLIT_AFTER_BRACES.split(text[cut:])
    pieces[-1] += tail[0]
    pieces += tail[1:]
    return pieces


def _tokens_and_glue(text: str) -> tuple[tuple[str, ...], list[bool]]:
    """The tokens, and for each whether it follows the one before without a blank."""
    toks: list[str] = []
    glued: list[bool] = []
    blank = True
    for p in _pieces(text):
        if not p:
            continue
        if p.isspace():
            blank = True
            continue
        toks.append(p)
        glued.append(not blank)
        blank = False
    return tuple(toks), glued


@dataclass(frozen=True)
class TableContext:
    """What conditions see: the flavor, the active setup types, the environment
    (``${VAR}``; None: this process's) and other symbols (lower-case names)."""

    flavor: str = "Linux64"
    types: frozenset[str] = frozenset()
    symbols: Mapping[str, str] = field(default_factory=dict)
    environ: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed ``if`` condition: its text, EUPS's tokens, and where it is."""

    text: str
    tokens: tuple[str, ...]
    where: Location = field(default_factory=lambda: Location("<table>"))

    def evaluate(self, ctx: TableContext) -> bool:
        """Whether the branch is taken, as EUPS decides; InputError where EUPS fails."""
        if not self.tokens:
            return False
        try:
            value = _Evaluation(self.tokens, ctx).run()
        except _EupsFails as exc:
            raise InputError(
                f"condition {shorten(self.text)!r} for flavor {ctx.flavor}: {exc}; "
                "real EUPS fails here too",
                location=self.where,
            ) from None
        return bool(value)


def parse_condition(
    text: str, where: Location, *, strict: bool = True, warnings: list[str] | None = None
) -> Condition:
    """Read an ``if`` condition; errors point at ``where`` (the parenthesis).

    What EUPS fails on or reads otherwise than it looks (:func:`check_condition`) is an
    error, or with ``strict=False`` a message appended to ``warnings``, as are the
    harmless quirks in either case.  Nesting deeper than :data:`MAX_DEPTH` is an error
    either way.
    """
    toks, glued = _tokens_and_glue(text)
    for is_error, problem in check_condition(toks, glued):
        message = f"condition {shorten(text)!r}: {problem}"
        if is_error and (strict or problem.startswith("nested more than")):
            raise InputError(message, location=where)
        if warnings is not None:
            warnings.append(message + ("; read as real EUPS reads it" if is_error else ""))
    return Condition(text, toks, where)


def legacy_flavor_condition(flavors: list[str], where: Location) -> Condition:
    """What a legacy ``Group:`` block's ``Flavor = X`` lines mean to EUPS: ``FLAVOR == X``
    joined with ``||`` (``ANY``: ``FLAVOR =~ .*``); no flavor at all is never true."""
    text = " || ".join(
        "FLAVOR =~ .*" if fl.lower() == "any" else f"FLAVOR == {fl}" for fl in flavors
    )
    return Condition(text, tokens(text), where)


# --- the static check ------------------------------------------------------------------


def _kind(tok: str) -> str:
    if tok == "(" or tok == ")":
        return tok
    if tok in _NOT:
        return "not"
    if tok in _BOOL_OPS:
        return "bool"
    if tok in _CMP_OPS:
        return "cmp"
    if _WORD.fullmatch(tok) or _REF_TOKEN.fullmatch(tok):
        return "value"
    return "junk"


_UPPER_OPS = {"AND": "and", "OR": "or", "NOT": "not"}


def check_condition(
    toks: tuple[str, ...], glued: list[bool] | None = None
) -> list[tuple[bool, str]]:
    """What EUPS reads otherwise than it looks: ``(is_error, message)`` pairs, at most one
    error (the walk stops there), none when the condition is plain.

    It walks the grammar as EUPS does, without values: every token must take part,
    parentheses must balance, and ``||``/``&&`` must not sit inside parentheses (EUPS
    fails there whenever the left side decides).  ``glued`` says which tokens follow the
    one before without a blank: a pattern written ``Linux.*`` is read by EUPS as
    ``Linux.`` (a warning); any other split pattern is an error.
    """
    if not toks:
        return [(True, "empty condition (real EUPS reads it as false)")]
    walk = _ConditionWalk(toks, glued or [False] * len(toks))
    if walk.expr(0) and walk.i < walk.n:
        walk.fail(f"unexpected {walk.describe(walk.i)}")
    return walk.found


class _ConditionWalk:
    """:func:`check_condition`'s walk: each step returns False once it found an error."""

    def __init__(self, toks: tuple[str, ...], stuck: list[bool]) -> None:
        self.toks = toks
        self.kinds = [_kind(t) for t in toks]
        self.stuck = stuck
        self.n = len(toks)
        self.i = 0
        self.depth = 0
        self.found: list[tuple[bool, str]] = []

    def fail(self, message: str) -> bool:
        self.found.append((True, message))
        return False

    def describe(self, j: int) -> str:
        if j >= self.n:
            return "the end"
        tok = self.toks[j]
        if tok in _UPPER_OPS:
            return f"{tok!r} (the operator is lower-case {_UPPER_OPS[tok]!r})"
        if self.kinds[j] == "junk":
            return f"{shorten(tok)!r} (real EUPS stops reading there)"
        return repr(shorten(tok))

    def expr(self, parens: int) -> bool:
        if not self.term(parens):
            return False
        while self.i < self.n and self.kinds[self.i] == "bool":
            if parens:
                return self.fail(
                    f"{self.toks[self.i]!r} inside parentheses: real EUPS fails whenever the "
                    "left side decides (write the condition without parentheses)"
                )
            self.i += 1
            if not self.term(parens):
                return False
        return True

    def term(self, parens: int) -> bool:
        if not self.prim(parens):
            return False
        if self.i >= self.n or self.kinds[self.i] != "cmp":
            return True
        op = self.toks[self.i]
        self.i += 1
        if self.i >= self.n or self.kinds[self.i] not in ("value", "(", "not"):
            return self._no_value(op)
        if op not in ("=~", "!~") or self.kinds[self.i] != "value":
            return self.prim(parens)
        return self.pattern()

    def _no_value(self, op: str) -> bool:
        i = self.i
        if op in ("=~", "!~") and i < self.n and self.kinds[i] == "junk":
            bad = _bad_pattern(self.toks[i])
            return self.fail(
                bad or f"real EUPS takes {shorten(self.toks[i])!r} as the whole pattern"
            )
        return self.fail(f"{op!r} needs a value, not {self.describe(i)}")

    def pattern(self) -> bool:
        """The value after ``=~`` or ``!~``, and what EUPS does not read of it."""
        pattern = self.toks[self.i]
        bad = _bad_pattern(pattern)
        if bad is not None:
            return self.fail(bad)
        self.i += 1
        i, n = self.i, self.n
        if i < n and self.stuck[i] and self.kinds[i] == "junk":  # the pattern goes on, unread
            if self.toks[i] == "*" and not (i + 1 < n and self.stuck[i + 1]):
                self.found.append((False, f"real EUPS matches {pattern!r}: '*' is not read"))
                self.i += 1
                return True
            return self.fail(
                f"real EUPS matches {pattern!r} and stops reading at {shorten(self.toks[i])!r}"
            )
        return True

    def prim(self, parens: int) -> bool:
        if self.i >= self.n:
            return self.fail("ends too early")
        kind = self.kinds[self.i]
        if kind == "value":
            self.i += 1
            return True
        if kind not in ("(", "not"):
            return self.fail(f"unexpected {self.describe(self.i)}")
        self.i += 1
        self.depth += 1
        if self.depth > MAX_DEPTH:
            return self.fail(f"nested more than {MAX_DEPTH} deep")
        saved = self.depth
        if kind == "not":
            ok = self.expr(parens)
        else:
            ok = self.expr(parens + 1)
            if ok and (self.i >= self.n or self.toks[self.i] != ")"):
                ok = self.fail(f"unbalanced parenthesis: expected ')', not {self.describe(self.i)}")
            self.i += ok
        if ok:  # a '!' reaches to the end of its expression: its depth ends there too
            self.depth = saved - 1
        return ok


def _bad_pattern(tok: str) -> str | None:
    if tok.lower() in ("flavor", "type") or _REF_TOKEN.fullmatch(tok):
        return None  # a value known only when evaluating
    try:
        int(tok)
    except ValueError:
        pass
    else:
        return f"{tok!r} reads as a number, not a pattern"
    try:
        re.compile(tok)
    except re.error as exc:
        return f"bad regular expression {tok!r}: {exc}"
    return None


# --- evaluation, as EUPS's reader goes -------------------------------------------------


class _EupsFails(Exception):
    """Where EUPS's own evaluation raises."""


class _Evaluation:
    """One evaluation: a cursor over the tokens, which EUPS's reader may push a value back
    onto (that value replaces the token it came from)."""

    def __init__(self, toks: tuple[str, ...], ctx: TableContext) -> None:
        self.toks: list[object] = list(toks)
        self.i = 0
        self.depth = 0
        self.env = os.environ if ctx.environ is None else ctx.environ
        symbols: dict[str, object] = dict(ctx.symbols)
        symbols["flavor"] = ctx.flavor
        if ctx.types:
            symbols["type"] = sorted(ctx.types)
        self.symbols = symbols

    def run(self) -> object:
        value = self.expr()  # tokens may be left over: EUPS stops where a term decides
        return False if _is_eof(value) else value

    def lookup(self, key: object) -> object:
        if not isinstance(key, str):
            raise _EupsFails(f"it reads {key!r} twice")
        m = _ENV_REF.match(key) if key.startswith("${") else None
        if m is not None:
            var, modifier, default = m.groups()
            if var in self.env:
                return self.env[var]
            if modifier:
                return default if default and default != "false" else False
            raise _EupsFails(f"${{{var}}} is not set")
        return self.symbols.get(key.lower(), key)

    def peek(self) -> object:
        if self.i >= len(self.toks):
            return _EOF
        value = self.lookup(self.toks[self.i])
        if isinstance(value, str):
            # EUPS reads numbers with int(): blanks, a sign, '_' and any Unicode decimal
            # digit (so '\u0663' is 3 here, on purpose).  What int() takes ends with such a
            # digit: try it only then (an exception per word costs).
            last = value.rstrip()[-1:]
            if last and unicodedata.decimal(last, None) is not None:
                with contextlib.suppress(ValueError):
                    return int(value)
            if value == "True" or value == "False":
                return value == "True"
            return value
        if isinstance(value, bool):  # a false default: int(False) is 0
            return int(value)
        return value

    def next(self) -> object:
        value = self.peek()
        if not _is_eof(value):
            self.i += 1
        return value

    def push(self, value: object) -> None:
        if not _is_eof(value):
            self.i -= 1
            self.toks[self.i] = value

    def expr(self) -> object:
        lhs = self.term()
        while True:
            op = self.next()
            if _is_op(op, "||", "or"):
                lhs = lhs or self.term()
            elif _is_op(op, "&&", "and"):
                lhs = lhs and self.term()
            else:
                self.push(op)
                return lhs

    def term(self) -> object:
        lhs = self.prim()
        op = self.next()
        if _is_eof(op):
            return lhs
        if not isinstance(op, str) or op not in _CMP_OPS:
            self.push(op)
            return lhs
        try:
            if op == "==" or op == "!=":
                rhs = self.prim()
                same = rhs in lhs if isinstance(lhs, list) else lhs == rhs
                return same if op == "==" else not same
            if op == "=~":
                return re.search(self.prim(), lhs)  # type: ignore[call-overload]
            if op == "!~":
                return not re.search(self.prim(), lhs)  # type: ignore[call-overload]
            rhs = self.prim()
            if op == "<":
                return lhs < rhs  # type: ignore[operator]
            if op == "<=":
                return lhs <= rhs  # type: ignore[operator]
            if op == ">":
                return lhs > rhs  # type: ignore[operator]
            return lhs >= rhs  # type: ignore[operator]
        except re.error as exc:
            raise _EupsFails(f"bad regular expression: {exc}") from None
        except RecursionError:
            raise _EupsFails("bad regular expression: groups nested too deeply") from None
        except (TypeError, ValueError, OverflowError) as exc:
            raise _EupsFails(f"{op!r} cannot compare these values ({exc})") from None

    def prim(self) -> object:
        first = self.peek()
        if not _is_op(first, "(", "!", "not"):
            return self.next()
        self.next()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _EupsFails(f"nested more than {MAX_DEPTH} deep")
        value = self.expr()
        self.depth -= 1
        if first != "(":
            return not value
        close = self.next()
        if not _is_op(close, ")"):
            raise _EupsFails(f"it expects ')' and reads {close!r} (an early '||'/'&&' decided)")
        return value


def _is_eof(value: object) -> bool:
    return isinstance(value, str) and value == _EOF


def _is_op(value: object, *ops: str) -> bool:
    return isinstance(value, str) and value in ops
