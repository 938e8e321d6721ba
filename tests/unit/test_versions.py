from __future__ import annotations

import pytest

from scipipe_tools.errors import InputError
from scipipe_tools.eups.versions import MAX_DEPTH, parse_expr, sort_key, split_version, vercmp


@pytest.mark.parametrize(
    ("lo", "hi"),
    [
        ("1.2-rc1", "1.2"),
        ("1.2", "1.2+1"),
        ("1.2+1", "1.2+2"),
        ("1.2m1", "1.2"),
        ("1.2", "1.2p1"),
        ("1.2m1", "1.2p1"),
        ("rc2", "rc10"),
        ("1.2", "1.10"),
        ("1.2", "1.2.0"),  # all compared parts equal: the longer is greater
        ("1_2", "1_3"),
        ("1.2.9", "1.2.10"),
        ("1.2-rc1", "1.2-rc2"),
        ("1.2-rc2", "1.2-rc10"),
        ("1.2-rc1", "1.2-rc1+1"),
        ("2.0.1", "10.0"),
        ("abc", "abd"),
        ("1", "a"),  # digits sort before letters, as in ASCII
        ("v26_0_0", "v26_0_1"),
    ],
)
def test_ordering(lo: str, hi: str) -> None:
    assert vercmp(lo, hi) == -1
    assert vercmp(hi, lo) == 1
    assert sort_key(lo) < sort_key(hi)


@pytest.mark.parametrize(("a", "b"), [("1.2", "1.2"), ("1.0", "1.00"), ("1.2", "1_2")])
def test_equal(a: str, b: str) -> None:
    assert vercmp(a, b) == 0


def test_split() -> None:
    assert split_version("1.2-rc1+3") == ("1.2", "rc1", "3")
    assert split_version("1.2p4") == ("1.2", None, "4")
    assert split_version("1.2m4") == ("1.2", "4", None)
    # two or more dashes: all primary
    assert split_version("21.0.0-25-gabc1234+def") == ("21.0.0-25-gabc1234+def", None, None)
    # m/p only after a digit
    assert split_version("temp3") == ("temp3", None, None)


@pytest.mark.parametrize(
    ("expr", "version", "ok"),
    [
        (">= 1.2 && < 2", "1.5", True),
        (">= 1.2 && < 2", "2.0", False),
        (">= 1.2 and < 2", "1.2", True),
        ("< 1 || >= 3", "3.1", True),
        ("< 1 or >= 3", "2", False),
        ("== 1.0", "1.00", True),
        ("1.0", "1.0", True),  # a bare version means ==
        ("(>= 1 && < 2) || == 5", "5", True),
        ("> 2.0.2", "2.2.15", True),
        ("<= 1.8 && > 1.8", "1.8", False),
    ],
)
def test_expressions(expr: str, version: str, ok: bool) -> None:
    assert parse_expr(expr).matches(version) is ok


@pytest.mark.parametrize(
    ("expr", "msg"),
    [
        ("= 1.2", "did you mean '=='"),
        ("=> 1.2", "did you mean '>='"),
        (">=", "needs a version"),
        ("", "empty"),
        ("(>= 1", "unbalanced"),
        (">= 1 &&", "ends too early"),
        (">= 1 2", "unexpected '2'"),
        ("!= 1", "invalid operator '!='"),
    ],
)
def test_bad_expressions(expr: str, msg: str) -> None:
    with pytest.raises(InputError, match=msg):
        parse_expr(expr)


def test_expression_str_roundtrip() -> None:
    e = parse_expr("(>= 1 && < 2) or == 5")
    assert str(e) == ">= 1 && < 2 || == 5"
    assert parse_expr(str(e)) == e


# --- hostile input (issue 13) ------------------------------------------------------

UNICODE_DIGITS = ["\u00b2", "\u0663", "\uff13", "\u0969", "\U0001d7d1"]  # ² ٣ ３ ३ 𝟑


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
def test_only_ascii_digits_are_numbers(digit: str) -> None:
    # str.isdigit() and \d accept these, int() accepts some: here they are text
    for v in (digit, f"1.{digit}", f"1.2-rc{digit}", f"1.2m{digit}", f"{digit}0.1", f"v{digit}"):
        assert vercmp(v, v) == 0
        assert vercmp(v, "1.3") == -vercmp("1.3", v) != 0
        assert sort_key(v) != sort_key("1.3")
    assert vercmp(f"1.{digit}", "1.3") == 1  # a letter-like part sorts after digits
    assert split_version(f"1.2m{digit}") == (f"1.2m{digit}", None, None)


def test_numbers_longer_than_python_converts() -> None:
    big = "9" * 5000  # int() refuses more than 4300 digits
    assert vercmp(big, big[:-1] + "8") == 1
    assert vercmp(f"1.{big}", f"1.{big}0") == -1
    assert vercmp("0" * 5000 + "1", "1") == 0
    assert vercmp(f"rc{big}", "rc10") == 1
    assert parse_expr(f">= {big}").matches("1" + big)


def test_deep_parentheses_are_an_input_error() -> None:
    depth = 1000
    with pytest.raises(InputError, match=f"nested more than {MAX_DEPTH} deep") as info:
        parse_expr("(" * depth + ">= 1" + ")" * depth)
    assert len(info.value.message) < 200
    ok = "(" * MAX_DEPTH + ">= 1" + ")" * MAX_DEPTH
    assert parse_expr(ok).matches("1.5")
    assert str(parse_expr(ok)) == ">= 1"


def test_long_chains_match_without_recursion() -> None:
    e = parse_expr(" || ".join(f"== 1.{i}" for i in range(50_000)))
    assert e.matches("1.49999") and not e.matches("2")
    e = parse_expr(" && ".join([">= 1"] * 50_000))
    assert e.matches("1") and not e.matches("0.9")
