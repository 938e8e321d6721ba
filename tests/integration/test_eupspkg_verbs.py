"""eupspkg's verbs, judged by the real eupspkg of EUPS 2.2.15.

Each test product below is a git repository of one kind (SCons, autotools, make, CMake,
setup.py, tarball-and-patch, cfg files calling eupspkg's helpers, setting only its
variables, written in bash).  ``scipipe build`` builds them all through its real path
(clone, plan, recipe, install, declare); real eupspkg builds a fresh clone of each as
lsstsw does (``eupspkg PRODUCT=p VERSION=v FLAVOR=f prep``, ``setup --type=build -k -r
.``, ``config``, ``build``, ``install``).  The two installed trees must be the same:
the same relative paths, file contents, modes and symlinks.

What is normalised, and why:

- absolute prefixes written into files (a configure script's, CMake's install
  manifest): each side's own PREFIX becomes ``<PREFIX>`` (the stacks differ; ours is
  also built in a staging folder renamed into place afterwards);
- the checkout's ``.git``, which real eupspkg copies into a product without a build
  system (its install copies the whole tree) and ours leaves out: a stack is no place
  for a repository's history (and lsst_build's ``_build.*`` files would come along);
- ``ups/_build.log`` and ``ups/pkginfo`` (``SHA1=``) are lsst_build's additions after
  the install verb, not eupspkg's: left out of our side.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import Repo, file_url, git
from scipipe_tools.stack.stack import Stack

from ..realtools import RealEups

FLAVOR = "Linux64"
pytestmark = pytest.mark.slow


def scons_dir() -> str | None:
    """Where ``scons`` is: on PATH, or beside this interpreter (the test extra)."""
    found = shutil.which("scons") or shutil.which("scons", path=sysconfig.get_path("scripts"))
    return os.path.dirname(found) if found else None


needs_tools = pytest.mark.skipif(
    scons_dir() is None or shutil.which("cmake") is None or shutil.which("patch") is None,
    reason="scons, cmake and patch are needed",
)

# -- the test products ------------------------------------------------------------------

HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'

# A SConstruct without sconsUtils, using what eupspkg passes: prefix=, version=, cc=
# on the command line and SCONSFLAGS (opt=3 by default) from the environment.
SCONSTRUCT = """\
import os
env = Environment(ENV=os.environ, CC=ARGUMENTS.get("cc", "cc"))
prefix = ARGUMENTS["prefix"]
hello = env.Program("bin/hello", ["src/hello.c"])
info = env.Command("share/info.txt", [], "echo 'version=%s opt=%s extra=%s' > $TARGET"
                   % (ARGUMENTS.get("version"), ARGUMENTS.get("opt"), ARGUMENTS.get("extra")))
Default(hello, info)
env.Alias("install", [env.Install(prefix + "/bin", hello), env.Install(prefix + "/share", info)])
"""

# A hand-written configure: records its options, writes a Makefile for the prefix.
CONFIGURE = """\
#!/bin/sh
prefix=/usr/local
features=
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix=*) prefix="${1#--prefix=}" ;;
        --prefix) shift; prefix="$1" ;;
        --enable-*) features="$features ${1#--enable-}" ;;
        *) echo "configure: unknown option $1" >&2; exit 1 ;;
    esac
    shift
done
echo "prefix=$prefix features=$features" > config.status
printf 'PREFIX = %s\\n' "$prefix" > Makefile
cat Makefile.in >> Makefile
"""
MAKEFILE_IN = """\
all: out.txt
out.txt:
\techo built > out.txt
docs:
\techo docs > docs.txt
install:
\tmkdir -p $(PREFIX)/share $(PREFIX)/etc
\tcp out.txt $(PREFIX)/share/
\tcp config.status $(PREFIX)/etc/
install-docs:
\tmkdir -p $(PREFIX)/doc && cp docs.txt $(PREFIX)/doc/
"""

# make without configure: eupspkg passes prefix= and version=
MAKEFILE = """\
all:
\techo "version $(version)" > version.txt
docs:
\techo docs > docs.txt
install:
\tmkdir -p $(prefix)/share && cp version.txt $(prefix)/share/
\tinstall -m 0750 tool.sh $(prefix)/share/tool.sh
install-docs:
\tmkdir -p $(prefix)/doc && cp docs.txt $(prefix)/doc/
"""

CMAKELISTS = """\
cmake_minimum_required(VERSION 3.13)
project(cmake_demo C)
add_executable(hello src/hello.c)
install(TARGETS hello DESTINATION bin)
install(FILES data/table.txt DESTINATION share)
"""
# CMake is no default of eupspkg 2.2.15: real products say how in their cfg.
CMAKE_CFG = """\
config() {
    cmake -S . -B _build -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_BUILD_TYPE=Release
}
build() {
    cmake --build _build -j "$NJOBS"
}
install() {
    clean_old_install
    cmake --install _build
    install_ups
}
"""

SETUP_PY = """\
from setuptools import setup
setup(name="pydemo", version="1.0", packages=["pydemo"], package_dir={"": "python"},
      scripts=["bin/pydemo-run"])
"""

# helpers a cfg may call, a default verb kept through copy_function, eupspkg's messages
HELPERS_CFG = """\
config() {
    die_if_empty PRODUCT
    detect_compiler
    echo "$COMPILER_TYPE $C_COMP_TYPE $CXX_CXX11_FLAG" > compiler.txt
    if contains "$FLAVOR" Linux64 Linux DarwinX86; then echo known > flavor.txt; fi
    msg "configured for $COMPILER_TYPE"
}
copy_function default_install base_install
install() {
    base_install
    mkdir -p "$PREFIX/share"
    cp compiler.txt flavor.txt "$PREFIX/share/"
    echo "$PRODUCT $VERSION $FLAVOR" > "$PREFIX/share/names.txt"
}
"""

# eupspkg's variables only: make targets, configure options
VARS_CFG = """\
CONFIGURE_OPTIONS="--prefix=$PREFIX --enable-fast --enable-docs"
MAKE_BUILD_TARGETS="all docs"
MAKE_INSTALL_TARGETS="install install-docs"
"""
MAKE_VARS_CFG = 'MAKE_BUILD_TARGETS="all docs"\nMAKE_INSTALL_TARGETS="install install-docs"\n'
SCONS_VARS_CFG = 'SCONSFLAGS="opt=1 extra=yes"\n'
PYSETUP_VARS_CFG = (
    'PYSETUP_INSTALL_OPTIONS="--home \\"$PREFIX\\" --prefix= --install-lib=\\"$PREFIX/python\\""\n'
)

# bash, not sh: arrays, [[ ]], ${var^^}, ${var//}, the function keyword, local, $(( ))
BASH_CFG = """\
names=(alpha beta gamma)
declare -A sizes=([alpha]=1 [beta]=2 [gamma]=3)
function build {
    local n total=0
    mkdir -p gen
    for n in "${names[@]}"; do
        [[ $n == beta ]] && continue
        echo "${n^^} ${VERSION//g/G}" > "gen/$n.txt"
        total=$(( total + ${sizes[$n]} ))
    done
    echo "$total" > gen/total.txt
}
install() {
    clean_old_install
    mkdir -p "$PREFIX/share"
    cp gen/*.txt "$PREFIX/share/"
    install_ups
}
"""

PATCH = """\
--- a/greeting.txt
+++ b/greeting.txt
@@ -1,2 +1,2 @@
 hello
-world
+patched world
"""
TAP_MAKEFILE = """\
all:
\tcat greeting.txt > built.txt
install:
\tmkdir -p $(prefix)/share && cp built.txt greeting.txt $(prefix)/share/
"""


def tarball(top: str, files: dict[str, str]) -> bytes:
    """A reproducible .tar.gz of ``files`` under ``top/``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mtime, info.mode = len(data), 1735808400, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


File = str | bytes | tuple[str, int]  # text, binary, or text with a mode


def products() -> dict[str, dict[str, File]]:
    """Each test product's files (make_repo adds its ups/<name>.table)."""
    return {
        "scons_demo": {"SConstruct": SCONSTRUCT, "src/hello.c": HELLO_C},
        "scons_vars": {"SConstruct": SCONSTRUCT, "src/hello.c": HELLO_C,
                       "ups/eupspkg.cfg.sh": SCONS_VARS_CFG},
        "autotools_demo": {"configure": (CONFIGURE, 0o755), "Makefile.in": MAKEFILE_IN},
        "autotools_vars": {"configure": (CONFIGURE, 0o755), "Makefile.in": MAKEFILE_IN,
                           "ups/eupspkg.cfg.sh": VARS_CFG},
        "make_demo": {"Makefile": MAKEFILE, "tool.sh": ("#!/bin/sh\necho tool\n", 0o755)},
        "make_vars": {"Makefile": MAKEFILE, "tool.sh": ("#!/bin/sh\necho tool\n", 0o755),
                      "ups/eupspkg.cfg.sh": MAKE_VARS_CFG},
        "cmake_demo": {"CMakeLists.txt": CMAKELISTS, "src/hello.c": HELLO_C,
                       "data/table.txt": "1 2 3\n", "ups/eupspkg.cfg.sh": CMAKE_CFG},
        # no cfg: eupspkg has no CMake default and copies the tree
        "cmake_plain": {"CMakeLists.txt": CMAKELISTS, "src/hello.c": HELLO_C,
                        "data/table.txt": "1 2 3\n", ".dotfile": "kept\n"},
        "setup_demo": {"setup.py": SETUP_PY, "python/pydemo/__init__.py": "X = 1\n",
                       "bin/pydemo-run": ("#!/usr/bin/env python\nprint('run')\n", 0o755)},
        "setup_vars": {"setup.py": SETUP_PY, "python/pydemo/__init__.py": "X = 2\n",
                       "bin/pydemo-run": ("#!/usr/bin/env python\nprint('run')\n", 0o755),
                       "ups/eupspkg.cfg.sh": PYSETUP_VARS_CFG},
        "tap_demo": {
            "upstream/demo-1.0.tar.gz": tarball("demo-1.0", {
                "greeting.txt": "hello\nworld\n", "Makefile": TAP_MAKEFILE}),
            "patches/1.patch": PATCH,
        },
        "cfg_helpers": {"ups/eupspkg.cfg.sh": HELPERS_CFG, "data/x.txt": "x\n"},
        "cfg_bash": {"ups/eupspkg.cfg.sh": BASH_CFG},
        "copy_demo": {"pyproject.toml": "[project]\nname = 'copy_demo'\n",
                      "python/copy_demo/__init__.py": "Y = 3\n", "bin/run": ("#!/bin/sh\n", 0o755)},
    }  # fmt: skip


def make_repo(path: Path, name: str, files: dict[str, File]) -> Path:
    repo = Repo.init(path)
    repo.write(f"ups/{name}.table", "envPrepend(PATH, ${PRODUCT_DIR}/bin)\n")
    for rel, content in files.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        elif isinstance(content, tuple):
            target.write_text(content[0])
            target.chmod(content[1])
        else:
            target.write_text(content)
    repo.commit(f"{name}: the test product")
    return path


# -- comparing trees --------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    kind: str  # file, dir, link
    mode: int
    content: bytes


def snapshot(root: Path, prefix: str, *, ours: bool) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root and ".git" in dirnames:  # see the module's docstring
            dirnames.remove(".git")
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if ours and rel in ("ups/_build.log", "ups/pkginfo"):
                continue
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = Entry("link", 0, os.readlink(path).encode())
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = Entry("dir", stat.S_IMODE(st.st_mode), b"")
            else:
                data = path.read_bytes()
                if ours:  # the staging folder our build installed into, renamed since
                    data = re.sub(rb"/\.[^/\s]+\.staging-\d+", b"/" + root.name.encode(), data)
                data = data.replace(prefix.encode(), b"<PREFIX>")
                out[rel] = Entry("file", stat.S_IMODE(st.st_mode), data)
    return out


def diff(real: dict[str, Entry], ours: dict[str, Entry]) -> list[str]:
    problems = [f"only real eupspkg installed {p}" for p in sorted(real.keys() - ours.keys())]
    problems += [f"only scipipe installed {p}" for p in sorted(ours.keys() - real.keys())]
    for p in sorted(real.keys() & ours.keys()):
        if real[p] != ours[p]:
            a, b = real[p], ours[p]
            problems.append(f"{p}: real {a.kind} {oct(a.mode)} {a.content[:200]!r} != "
                            f"ours {b.kind} {oct(b.mode)} {b.content[:200]!r}")  # fmt: skip
    return problems


# -- the builds -------------------------------------------------------------------------


def tool_env() -> dict[str, str]:
    """PATH with scons; the same for both builds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EUPS", "SETUP_"))}
    env["PATH"] = os.pathsep.join([scons_dir() or "", env.get("PATH", "")])
    return env


def scipipe_build(tmp: Path, remotes: dict[str, Path], *extra: str) -> tuple[Path, str]:
    repos = tmp / "repos.yaml"
    repos.write_text("".join(f"{n}: {file_url(p)}\n" for n, p in sorted(remotes.items())))
    root = tmp / "work"
    r = subprocess.run(
        [sys.executable, "-m", "scipipe_tools", "build", "--repos", str(repos), "--root",
         str(root), "-j", "2", "--flavor", FLAVOR, *extra, *sorted(remotes)],
        capture_output=True, text=True, check=False, env=tool_env(), timeout=900,
    )  # fmt: skip
    return root, r.stderr + r.stdout if r.returncode else ""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Path]]:
    """Every test product built once by ``scipipe build``: (work root, tmp, remotes)."""
    if scons_dir() is None or shutil.which("cmake") is None or shutil.which("patch") is None:
        pytest.skip("scons, cmake and patch are needed")
    tmp = tmp_path_factory.mktemp("eupspkg-verbs")
    remotes = {n: make_repo(tmp / "remotes" / n, n, f) for n, f in products().items()}
    root, failure = scipipe_build(tmp, remotes)
    assert not failure, failure
    return root, tmp, remotes


def real_install(real_eups: RealEups, tmp: Path, name: str, remote: Path, version: str) -> Path:
    """The product built and installed by real eupspkg, as lsstsw runs it."""
    src = tmp / "real-src" / name
    git(["clone", "-q", str(remote), str(src)])
    stack = tmp / "real-stack"
    stack.mkdir(exist_ok=True)
    (stack / "ups_db").mkdir(exist_ok=True)
    verb = f"eupspkg PRODUCT={name} VERSION={version} FLAVOR={FLAVOR}"
    script = (f"cd {src} && {verb} prep && setup --type=build -k -r . && {verb} config && "
              f"{verb} build && {verb} install")  # fmt: skip
    env = {"PATH": tool_env()["PATH"], "EUPS_FLAVOR": FLAVOR, "EUPSPKG_NJOBS": "2"}
    real_eups.run(script, stack, env=env)
    return stack / FLAVOR / name / version


@needs_tools
@pytest.mark.parametrize("name", sorted(products()))
def test_installs_the_tree_real_eupspkg_installs(
    built: tuple[Path, Path, dict[str, Path]], real_eups: RealEups, name: str
) -> None:
    root, tmp, remotes = built
    stack = Stack(root / "stack", FLAVOR)
    (version,) = stack.versions(name)
    ours = stack.product_dir(name, version)
    real = real_install(real_eups, tmp, name, remotes[name], version)
    ours_tree = snapshot(ours, str(ours), ours=True)
    real_tree = snapshot(real, str(real), ours=False)
    assert diff(real_tree, ours_tree) == []
    assert len(real_tree) > 2  # something beyond ups/ was installed


@needs_tools
def test_what_each_kind_installed(built: tuple[Path, Path, dict[str, Path]]) -> None:
    """The trees compared above hold what each kind's build made (the judge could agree
    with us on an empty tree)."""
    root, _, _ = built
    stack = Stack(root / "stack", FLAVOR)

    def installed(name: str, rel: str) -> str:
        (version,) = stack.versions(name)
        return (stack.product_dir(name, version) / rel).read_text(errors="replace")

    (scons_version,) = stack.versions("scons_demo")
    assert installed("scons_demo", "share/info.txt") == (
        f"version={scons_version} opt=3 extra=None\n"
    )
    assert "opt=1 extra=yes" in installed("scons_vars", "share/info.txt")
    assert installed("autotools_vars", "etc/config.status").endswith("features= fast docs\n")
    assert installed("autotools_vars", "doc/docs.txt") == "docs\n"
    assert installed("make_vars", "doc/docs.txt") == "docs\n"
    assert installed("tap_demo", "share/built.txt") == "hello\npatched world\n"
    assert installed("cfg_helpers", "share/compiler.txt").startswith("gcc gcc -std=c++11")
    assert installed("cfg_helpers", "data/x.txt") == "x\n"
    assert installed("cfg_bash", "share/total.txt") == "4\n"
    assert installed("setup_demo", "lib/python/pydemo/__init__.py") == "X = 1\n"
    assert installed("setup_vars", "python/pydemo/__init__.py") == "X = 2\n"
    assert "hello" in installed("cmake_demo", "bin/hello")
    assert installed("cmake_plain", "CMakeLists.txt") == CMAKELISTS
