"""The reusable workflows Rubin's packages call (rubin_workflows' build_docs, docstyle,
mypy, markdownlint, shellcheck, yamllint and cmake): the same inputs, least privilege,
and each job's ``run:`` steps run by bash as written, with the real linters (mypy,
pydocstyle, yamllint, shellcheck, mdl, cmake, pytest) on small sample projects and stand-ins
only for what installs packages."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from .cishell import StepsRun, real, run_steps
from .test_ci_workflows import WORKFLOWS, load

CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"
#: package installers: logged, never run
INSTALLERS = {"sudo": "", "python": "", "uv": "", "gem": ""}

#: Rubin's inputs (name: (required, default)); ours may add optional ones
RUBIN_INPUTS: dict[str, dict[str, tuple[bool, Any]]] = {
    "build-docs": {},
    "docstyle": {"args": (True, None)},
    "mypy": {"mypy_package": (False, "mypy"), "folders": (False, "python")},
    "markdownlint": {},
    "shellcheck": {},
    "yamllint": {"args": (False, ".")},
    "cmake": {},
}


def job(name: str) -> dict[str, Any]:
    jobs = load(WORKFLOWS / f"{name}.yaml")["jobs"]
    assert len(jobs) == 1
    return dict(next(iter(jobs.values())))


def write(root: Path, files: dict[str, str], executable: tuple[str, ...] = ()) -> None:
    for rel, text in files.items():
        path = root / "ws" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        if rel in executable:
            path.chmod(0o755)


def run(tmp: Path, name: str, stubs: dict[str, str], **inputs: str) -> StepsRun:
    (tmp / "ws").mkdir(parents=True, exist_ok=True)
    workflow = load(WORKFLOWS / f"{name}.yaml")
    given = {
        k: str(v.get("default", "")) for k, v in workflow["on"]["workflow_call"]["inputs"].items()
    }
    return run_steps(tmp, job(name)["steps"], {**given, **inputs}, {**INSTALLERS, **stubs})


@pytest.mark.parametrize("name", sorted(RUBIN_INPUTS))
def test_same_inputs_as_rubin_and_least_privilege(name: str) -> None:
    workflow = load(WORKFLOWS / f"{name}.yaml")
    inputs = workflow["on"]["workflow_call"].get("inputs") or {}
    for key, (required, default) in RUBIN_INPUTS[name].items():
        assert inputs[key].get("required", False) is required, key
        assert inputs[key].get("default") == default, key
    # the inputs that are not Rubin's are optional
    assert all(
        not spec.get("required") for k, spec in inputs.items() if k not in RUBIN_INPUTS[name]
    )
    assert workflow["permissions"] == {}
    (the_job,) = workflow["jobs"].values()
    assert the_job["permissions"] == {"contents": "read"}
    assert the_job["timeout-minutes"] <= 60
    steps = the_job["steps"]
    assert steps[0]["uses"] == CHECKOUT
    assert steps[0]["with"]["persist-credentials"] is False
    # inputs reach the scripts through env only (no expression is expanded into a script)
    assert not any("${{" in s.get("run", "") for s in steps)


def test_build_docs_installs_then_runs_package_docs_in_doc(tmp_path: Path) -> None:
    write(tmp_path, {
        "requirements.txt": "numpy\n",
        "build_docs.ini": "[ubuntu]\ninstall = libfoo-dev  libbar\n\n[pip]\ninstall = lsst-utils\n",
        "doc/conf.py": "",
    })  # fmt: skip
    done = run(tmp_path, "build-docs", {"package-docs": ""})
    assert done.failed is None, done.output
    ws = str(tmp_path / "ws")
    assert done.argvs("sudo") == [
        ["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "graphviz"],
        ["apt-get", "install", "-y", "-qq", "libfoo-dev", "libbar"],
    ]  # fmt: skip
    assert done.argvs("uv") == [
        ["pip", "install", "--system", "wheel"],
        ["pip", "install", "--system", "-r", "requirements.txt"],
        ["pip", "install", "--system", "lsst-utils"],
        ["pip", "install", "--system", "-v", "."],
        ["pip", "install", "--system", "documenteer[pipelines]<1.0"],
    ]
    (build,) = [r for r in done.records if r["argv"][0] == "package-docs"]
    assert build["argv"] == ["package-docs", "build"] and build["cwd"] == f"{ws}/doc"

    # without build_docs.ini (or with it, without a section) and requirements.txt: neither
    write(tmp_path / "b", {"build_docs.ini": "[pip]\n", "doc/conf.py": ""})
    done = run(tmp_path / "b", "build-docs", {"package-docs": ""},
               documenteer="documenteer[pipelines]==0.8.2")  # fmt: skip
    assert done.failed is None, done.output
    assert len(done.argvs("sudo")) == 2
    assert [a[-1] for a in done.argvs("uv")] == ["wheel", ".", "documenteer[pipelines]==0.8.2"]
    # a failed documentation build fails the job
    done = run(tmp_path / "b", "build-docs", {"package-docs": "exit 1"})
    assert done.failed == "Build the documentation"


def test_docstyle_runs_pydocstyle_with_the_args(tmp_path: Path) -> None:
    stubs = {"pydocstyle": real("pydocstyle", "pydocstyle")}
    sample = {"python/pkg/__init__.py": '"""A package."""\n',
              "python/pkg/mod.py": '"""A module."""\n\n\ndef f():\n    """not numpy style"""\n'}  # fmt: skip
    write(tmp_path / "bad", sample)
    done = run(tmp_path / "bad", "docstyle", stubs, args="--convention=numpy python")
    assert done.failed == "pydocstyle"
    assert done.argvs("python") == [["-m", "pip", "install", "--quiet", "pydocstyle", "tomli"]]
    assert done.argvs("pydocstyle") == [["--convention=numpy", "python"]]
    assert "mod.py" in done.output and "D400" in done.output
    write(
        tmp_path / "good",
        {**sample, "python/pkg/mod.py": '"""A module."""\n\n\ndef f():\n    """Do it."""\n'},
    )
    done = run(tmp_path / "good", "docstyle", stubs, args="--convention=numpy python")
    assert done.failed is None, done.output


def test_mypy_writes_the_version_then_checks_the_folders(tmp_path: Path) -> None:
    stubs = {"lsst-version": "", "mypy": real("mypy", "mypy")}
    sample = {
        "types.txt": "types-PyYAML\n",
        "python/pkg/__init__.py": "def f(x: int) -> int:\n    return x\n",
        "tests/test_pkg.py": "from pkg import f\n\nf('one')\n",
    }
    write(tmp_path / "bad", sample)
    done = run(tmp_path / "bad", "mypy", stubs, mypy_package="mypy==1.15.0",
               folders="python tests")  # fmt: skip
    assert done.failed == "mypy", done.output
    assert done.argvs("uv") == [
        ["pip", "install", "--system", "mypy==1.15.0", "pydantic", "lsst-versions"],
        ["pip", "install", "--system", "-r", "types.txt"],
    ]
    assert done.argvs("lsst-version") == [[".", "--write-version"]]
    assert done.argvs("mypy") == [["python", "tests"]]
    assert 'incompatible type "str"' in done.output
    # the default folders: python/ only
    write(tmp_path / "good", {**sample, "requirements.txt": "numpy\n"})
    done = run(tmp_path / "good", "mypy", stubs)
    assert done.failed is None, done.output
    assert done.argvs("mypy") == [["python"]]
    assert done.argvs("uv")[0][3] == "mypy"
    assert done.argvs("uv")[-1] == ["pip", "install", "--system", "-r", "requirements.txt"]


def test_yamllint_runs_with_the_args(tmp_path: Path) -> None:
    stubs = {"yamllint": real("yamllint", "yamllint")}
    write(tmp_path / "bad", {"a.yaml": "---\nkey: 1\nkey: 2\n", "sub/b.yaml": "---\nx: [1]\n"})
    done = run(tmp_path / "bad", "yamllint", stubs)
    assert done.failed == "yamllint"
    assert done.argvs("yamllint") == [["."]]
    assert "duplication of key" in done.output and "a.yaml" in done.output
    done = run(tmp_path / "bad", "yamllint", stubs, args="-s sub")
    assert done.failed is None, done.output
    assert done.argvs("yamllint")[-1] == ["-s", "sub"]


SHELL_BAD = "#!/bin/bash\necho $1\n"  # SC2086, an info
SHELL_GOOD = '#!/bin/sh\necho "$1"\n'


def test_shellcheck_finds_the_scripts_and_checks_each(tmp_path: Path) -> None:
    stubs = {"shellcheck": real("shellcheck")}
    files = {
        "ok.sh": SHELL_GOOD,
        "lib/bad.bash": SHELL_BAD,
        "bin/tool": SHELL_BAD,  # no extension, executable, a shell shebang
        "bin/env-tool": SHELL_BAD.replace("/bin/bash", "/usr/bin/env bash"),
        "bin/script.py": "#!/usr/bin/env python3\nprint($1)\n",
        "bin/pytool": "#!/usr/bin/env python3\necho $1\n",  # not a shell script
        "notes": SHELL_BAD,  # not executable
        ".git/hooks/pre-commit.sh": SHELL_BAD,
        "vendor/x/y.sh": SHELL_BAD,
    }
    write(tmp_path / "a", files, executable=("bin/tool", "bin/env-tool", "bin/pytool"))
    done = run(tmp_path / "a", "shellcheck", stubs)
    assert done.failed == "ShellCheck"
    assert done.argvs("sudo") == []  # the runner has shellcheck already
    checked = sorted(a[-1] for a in done.argvs("shellcheck")[1:])
    assert checked == ["./bin/env-tool", "./bin/tool", "./lib/bad.bash", "./ok.sh",
                       "./vendor/x/y.sh"]  # fmt: skip
    assert all(a[0] == "--format=gcc" for a in done.argvs("shellcheck")[1:])
    assert "./lib/bad.bash:2:6: note:" in done.output and "./ok.sh" not in done.output

    # a severity above the findings, and the ignored paths: clean
    done = run(tmp_path / "a", "shellcheck", stubs, severity="warning", ignore_paths="vendor")
    assert done.failed is None, done.output
    assert "./vendor/x/y.sh" not in str(done.argvs("shellcheck"))
    assert ["--format=gcc", "--severity=warning", "./ok.sh"] in done.argvs("shellcheck")


def test_markdownlint_installs_mdl_then_lints(tmp_path: Path) -> None:
    gems = tmp_path / "gems"
    stubs = {"ruby": f"printf %s '{gems}'", "mdl": real("mdl")}
    write(tmp_path / "bad", {"README.md": "# Title\n\n#Not a heading\n", "doc/ok.md": "# Fine\n"})
    done = run(tmp_path / "bad", "markdownlint", stubs)
    assert done.failed == "Lint Markdown"
    assert done.argvs("gem") == [
        ["install", "--user-install", "--no-document", "mdl", "--version", "0.13.0"]
    ]
    assert done.argvs("mdl") == [["--version"], ["./"]]
    assert "README.md:3: MD018" in done.output and "ok.md" not in done.output
    write(tmp_path / "good", {"README.md": "# Title\n\nText.\n"})
    done = run(
        tmp_path / "good", "markdownlint", stubs, path="README.md", **{"mdl-version": "0.12.0"}
    )
    assert done.failed is None, done.output
    assert done.argvs("gem")[0][-1] == "0.12.0" and done.argvs("mdl")[-1] == ["README.md"]


CMAKELISTS = """\
cmake_minimum_required(VERSION 3.16)
project(sample LANGUAGES NONE)
enable_testing()
add_test(NAME data_present COMMAND ${CMAKE_COMMAND} -E {check} ${CMAKE_SOURCE_DIR}/data.txt)
install(FILES python/sample.py DESTINATION python)
"""


def test_cmake_configures_builds_tests_installs_then_pytest(tmp_path: Path) -> None:
    stubs = {"cmake": real("cmake"), "ctest": real("ctest"), "pytest": real("pytest", "pytest")}
    sample = {
        "CMakeLists.txt": CMAKELISTS.replace("{check}", "cat"),
        "data.txt": "x\n",
        "cmake.ini": "[pip]\ninstall = numpy\n",
        "python/sample.py": "ANSWER = 42\n",
        # runs against the installed copy: build/install/python is on PYTHONPATH
        "tests/test_sample.py": "import sample\n\n\ndef test_installed():\n"
        "    assert sample.__file__.endswith('build/install/python/sample.py')\n"
        "    assert sample.ANSWER == 42\n",
    }
    write(tmp_path / "a", sample)
    done = run(tmp_path / "a", "cmake", stubs)
    assert done.failed is None, done.output
    ws = tmp_path / "a" / "ws"
    assert done.argvs("uv") == [["pip", "install", "--system", "pytest", "pytest-flake8"],
                                ["pip", "install", "--system", "numpy"]]  # fmt: skip
    assert done.argvs("cmake")[0] == [
        f"-DCMAKE_INSTALL_PREFIX={ws}/build/install",
        "-B",
        f"{ws}/build",
    ]
    assert (ws / "build" / "install" / "python" / "sample.py").is_file()
    assert "1 passed" in done.output and "100% tests passed" in done.output
    assert done.argvs("pytest") == [["-r", "a", "-v"]]
    # a failing ctest stops the job before install
    write(tmp_path / "b", {**sample, "CMakeLists.txt": CMAKELISTS.replace("{check}", "false")})
    done = run(tmp_path / "b", "cmake", stubs)
    assert done.failed == "CMake test"
    assert not (tmp_path / "b" / "ws" / "build" / "install").exists()
