"""The CLI over the pure model: exit codes, one-line errors, --json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import Invoke


def test_help_lists_every_group(scipipe: Invoke) -> None:
    r = scipipe("--help")
    assert r.code == 0
    for group in ["build", "changelog", "ci", "distrib", "env", "eups", "manifest", "release"]:
        assert group in r.out


def test_vercmp(scipipe: Invoke) -> None:
    assert scipipe("eups", "vercmp", "1.2-rc1", "1.2").out == "1.2-rc1 < 1.2\n"
    assert scipipe("eups", "vercmp", "1.2p1", "1.2").out == "1.2p1 > 1.2\n"
    r = scipipe("eups", "vercmp", "--json", "1.0", "1.00")
    assert json.loads(r.out) == {"a": "1.0", "b": "1.00", "cmp": 0}
    # --json before the command works too
    assert json.loads(scipipe("--json", "eups", "vercmp", "rc2", "rc10").out)["cmp"] == -1


def test_vermatch_exit_codes(scipipe: Invoke) -> None:
    assert scipipe("eups", "vermatch", "1.5", ">= 1.2 && < 2").code == 0
    assert scipipe("eups", "vermatch", "2.5", ">= 1.2 && < 2").code == 1
    bad = scipipe("eups", "vermatch", "1.5", "= 1.5")
    assert bad.code == 2
    assert bad.err.startswith(
        "error: argument EXPRESSION: version expression '= 1.5': invalid operator '='"
    )
    assert "Traceback" not in bad.err
    bad = scipipe("eups", "vermatch", "1 .5", ">= 1")
    assert bad.code == 2 and bad.err == "error: argument VERSION: invalid version '1 .5'\n"


def test_vercmp_rejects_malformed_versions(scipipe: Invoke) -> None:
    for args in [("1.0", ">= 2"), ("", "1"), ("1 2", "3")]:
        r = scipipe("eups", "vercmp", *args)
        assert r.code == 2 and r.err.startswith("error: argument ") and r.out == ""


def test_tag_name(scipipe: Invoke) -> None:
    assert scipipe("release", "tag-name", "--weekly", "2020-12-31").out == "w.2021.01 w_2021_01\n"
    assert (
        scipipe("release", "tag-name", "--daily", "2024-03-05").out == "d.2024.03.05 d_2024_03_05\n"
    )
    assert scipipe("release", "tag-name", "26.0.0").out == "26.0.0 v26_0_0\n"
    assert scipipe("release", "tag-name", "v29_0_0_rc2").out == "v29.0.0.rc2 v29_0_0_rc2\n"
    r = scipipe("release", "tag-name", "--json", "w_2024_10")
    assert json.loads(r.out) == {"git": "w.2024.10", "eups": "w_2024_10", "kind": "weekly"}
    now = scipipe("release", "tag-name", "--weekly")
    assert now.code == 0 and now.out.startswith("w.")
    assert scipipe("release", "tag-name").code == 2
    assert scipipe("release", "tag-name", "--weekly", "31/12/2020").code == 2


def test_lint_table(scipipe: Invoke, tmp_path: Path) -> None:
    good = tmp_path / "good.table"
    good.write_text("setupRequired(base)\n")
    bad = tmp_path / "bad.table"
    bad.write_text("setupRequired(base)\n\nsetupRequired(afw\n")
    assert scipipe("eups", "lint-table", str(good)).code == 0
    r = scipipe("eups", "lint-table", str(good), str(bad))
    assert r.code == 2
    errors = [line for line in r.err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {bad}:3:14: unbalanced parenthesis"]


def test_show_table_evaluates_for_the_flavor(scipipe: Invoke, tmp_path: Path) -> None:
    t = tmp_path / "x.table"
    t.write_text(
        "setupRequired(base)\nif (flavor == Darwin) {\n setupOptional(mac)\n}\n"
        "envPrepend(PATH, ${PRODUCT_DIR}/bin)\n"
    )
    linux = json.loads(scipipe("eups", "show-table", "--json", "--flavor", "Linux64", str(t)).out)
    assert [d["product"] for d in linux["dependencies"]] == ["base"]
    mac = scipipe("eups", "show-table", "--flavor", "Darwin", str(t))
    assert mac.out.splitlines() == [
        "required  base",
        "optional  mac",
        "envPrepend  PATH ${PRODUCT_DIR}/bin",
    ]


def test_lint_repos(scipipe: Invoke, tmp_path: Path) -> None:
    f = tmp_path / "repos.yaml"
    f.write_text("afw: https://github.com/lsst/afw.git\nlocal: file:///srv/local.git\n")
    r = scipipe("eups", "lint-repos", str(f))
    assert r.code == 2 and f"error: {f}:2: local: URL scheme 'file' is not allowed" in r.err
    assert (
        scipipe(
            "eups", "lint-repos", "--allow-scheme", "https", "--allow-scheme", "file", str(f)
        ).code
        == 0
    )
    f.write_text("afw:\n  url: https://github.com/lsst/afw.git\n")
    r = scipipe("eups", "lint-repos", str(f))
    assert r.code == 2
    assert r.err.splitlines()[0] == (
        f"error: {f}:2:3: afw: a mapping needs 'ref' or 'lfs' besides 'url'"
    )


SHA_A, SHA_B, SHA_C = "a" * 40, "b" * 40, "c" * 40


def write_manifests(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "manifests").mkdir()
    old = tmp_path / "manifests" / "b1.txt"
    old.write_text(f"BUILD=b1\nutils {SHA_A} g1\nbase {SHA_B} g2 utils\n")
    new = tmp_path / "manifests" / "b2.txt"
    new.write_text(f"BUILD=b2\nutils {SHA_A} g1\nbase {SHA_C} g3 utils\ngeom {SHA_C} g4 base\n")
    return old, new


def test_manifest_show_and_diff(scipipe: Invoke, tmp_path: Path) -> None:
    old, new = write_manifests(tmp_path)
    shown = json.loads(scipipe("manifest", "show", "--json", str(old)).out)
    assert shown["build_id"] == "b1" and [p["name"] for p in shown["products"]] == ["utils", "base"]
    r = scipipe("manifest", "diff", "--versiondb", str(tmp_path), "b1", "b2")
    assert r.code == 0
    assert r.out.splitlines() == [
        "+ geom g4",
        "~ base g2 -> g3 (source)",
        "1 added, 0 removed, 1 changed, 1 unchanged",
    ]
    assert scipipe("manifest", "diff", "--exit-code", str(old), str(new)).code == 1
    assert scipipe("manifest", "diff", "--exit-code", str(old), str(old)).code == 0
    d = json.loads(scipipe("manifest", "diff", "--json", str(old), str(new)).out)
    assert d["changed"][0]["name"] == "base" and d["changed"][0]["source_changed"]


def test_bad_manifest_one_line_exit_2(scipipe: Invoke, tmp_path: Path) -> None:
    f = tmp_path / "manifest.txt"
    f.write_text(f"BUILD=b1\nutils {SHA_A} g1\nbase {SHA_B}\n")
    r = scipipe("manifest", "show", str(f))
    assert r.code == 2
    assert r.err == f"error: {f}:3: expected 'name sha1 version [deps]', got 2 fields\n"
    assert r.out == ""


def test_debug_shows_a_traceback(scipipe: Invoke, tmp_path: Path) -> None:
    f = tmp_path / "manifest.txt"
    f.write_text("nonsense\n")
    r = scipipe("--debug", "manifest", "show", str(f))
    assert r.code == 2 and "Traceback" in r.err


def test_usage_errors_exit_2(scipipe: Invoke) -> None:
    r = scipipe("eups", "vercmp", "1.0")
    assert r.code == 2 and "Missing argument" in r.err
    assert scipipe("no-such-command").code == 2


def test_console_scripts_are_installed() -> None:
    bindir = Path(sys.executable).parent
    r = subprocess.run(
        [bindir / "scipipe", "eups", "vercmp", "1", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (r.returncode, r.stdout) == (0, "1 < 2\n")
    r = subprocess.run(
        [bindir / "lsstinstall", "--help"], capture_output=True, text=True, check=False
    )
    assert r.returncode == 0 and "lsstinstall" in r.stdout


def test_vercmp_and_vermatch_take_unicode_digits(scipipe: Invoke) -> None:
    # str.isdigit() accepts superscript two, int() does not: it compares as text
    assert scipipe("eups", "vercmp", "1.\u00b2", "1.2").out == "1.\u00b2 > 1.2\n"
    assert scipipe("eups", "vercmp", "1.\u0663", "1.3").out == "1.\u0663 > 1.3\n"
    assert scipipe("eups", "vermatch", "\u00b2", ">= 1").code == 0
    assert scipipe("eups", "vermatch", "1", "== \u00b9").code == 1


def test_a_table_of_just_a_semicolon_lints_and_shows(scipipe: Invoke, tmp_path: Path) -> None:
    t = tmp_path / "x.table"
    t.write_text(";\n")
    skipped = f"{t}:1:1: line skipped, as real EUPS skips it ('Unrecognized line'): ;"
    r = scipipe("eups", "lint-table", str(t))
    assert r.code == 2
    assert f"error: {t}:1:1: real EUPS skips this line ('Unrecognized line'): ;" in r.err
    r = scipipe("eups", "lint-table", "--no-strict", str(t))
    assert (r.code, r.err.splitlines()[0]) == (0, f"warning: {skipped}")
    r = scipipe("eups", "show-table", "--no-strict", "--flavor", "Linux64", str(t))
    assert (r.code, r.out, r.err) == (0, "", f"warning: {skipped}\n")


def test_deep_nesting_is_a_one_line_input_error(scipipe: Invoke, tmp_path: Path) -> None:
    t = tmp_path / "x.table"
    t.write_text("if (flavor == Linux64) {\n" * 500 + "}\n" * 500)
    for cmd in ("lint-table", "show-table"):
        r = scipipe("eups", cmd, str(t))
        assert r.code == 2
        assert r.err.splitlines()[0] == f"error: {t}:101:1: blocks nested more than 100 deep"
    r = scipipe("eups", "vermatch", "1", "(" * 500 + "1" + ")" * 500)
    assert r.code == 2
    assert r.err.startswith("error: argument EXPRESSION: version expression '((((")
    assert "nested more than 100 deep" in r.err and len(r.err) < 300
