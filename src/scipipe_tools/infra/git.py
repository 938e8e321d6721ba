"""git verbs used across scipipe-tools (subprocesses go through :mod:`proc`).

Every verb takes the repository's root directory and runs git there with:

- ``GIT_TERMINAL_PROMPT=0``: a missing credential fails instead of waiting for a person;
- the variables that point git at *another* repository (``GIT_DIR``, ``GIT_WORK_TREE``,
  ...; a git hook sets them) removed, and ``GIT_CEILING_DIRECTORIES`` set to the
  repository's parent, so a directory that is not a repository is never mistaken for
  the repository around it (``sources/`` inside a checkout of this project);
- a timeout (:data:`REMOTE_TIMEOUT`) for anything that talks to a remote, plus HTTP
  low-speed limits so a stalled transfer fails in minutes rather than hours.

A failing command raises :class:`NetworkError` when the remote could not be reached,
was not found or refused us (the typical stderr of those cases is recognized), and
:class:`GitError` (a :class:`CommandError`) otherwise.  Messages name the repository
and URL, with any credentials in a URL replaced by ``***``.

This module is the one way the program runs git (the gateway): the verbs below, and for
callers that read git's answers themselves (the changelog's walks, the plain-git forge)
:func:`run` (checked), :func:`query` (in a work tree, unchecked) and :func:`call` (on a
repository's store, unchecked, without discovery).  Whatever git says comes back
through :func:`hide`: :func:`redact`, plus the credentials of the URL the command was
given wherever git echoes them (``unable to look up user:token@host`` has no
``scheme://`` for a pattern to see).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import CommandError, InputError, NetworkError
from ..redaction import MASK, MIN_SECRET_LENGTH
from ..redaction import redact as redact
from . import gitrefs, proc

#: Seconds any command that talks to a remote may take (a clone of a large data
#: repository takes minutes; a hung connection should not take the night).
REMOTE_TIMEOUT = 1800.0

#: Abort an HTTP transfer slower than 1 KB/s for 2 minutes.
HTTP_LIMITS = ("-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=120")

#: Variables that make git operate on a repository other than the one in cwd.
REPO_VARS = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
        "GIT_CEILING_DIRECTORIES",
    }
)

#: stderr of a remote that could not be reached, does not exist or refused us.
_NETWORK_PATTERNS = re.compile(
    "|".join(
        [
            r"could not resolve host",
            r"could not resolve hostname",
            r"connection refused",
            r"connection timed out",
            r"operation timed out",
            r"timed out after",
            r"network is unreachable",
            r"no route to host",
            r"does not appear to be a git repository",
            r"repository not found",
            r"repository '[^']*' (?:not found|does not exist)",
            r"unable to access",
            r"unable to connect",
            r"could not read from remote repository",
            r"the remote end hung up unexpectedly",
            r"early eof",
            r"rpc failed",
            r"authentication failed",
            r"could not read username",
            r"permission denied \(publickey",
        ]
    ),
    re.IGNORECASE,
)
#: Lines of git's stderr that say nothing about the cause.
_BOILERPLATE = (
    "please make sure you have the correct access rights",
    "and the repository exists.",
)
_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_ABBREV_SHA = re.compile(r"^[0-9a-fA-F]{4,40}$")

RefKind = Literal["branch", "tag", "sha"]


class GitError(CommandError):
    """A git command failed for a reason other than the network."""

    def __init__(
        self,
        message: str,
        cause: CommandError,
        *,
        hint: str | None = None,
        url: str | None = None,
    ) -> None:
        argv = [hide(a, url) for a in cause.argv]
        tail = hide(cause.stderr_tail, url)
        super().__init__(argv, cause.returncode, tail, hint=hint or cause.hint)
        self.message = message
        self.args = (message,)


class GitTimeout(GitError):
    """A git command :func:`call` ran took longer than its timeout (and was taken down)."""


@dataclass(frozen=True)
class ResolvedRef:
    """What a ref names in a repository: ``kind`` says how it was found."""

    sha: str
    kind: RefKind
    #: the ref as asked for (a branch or tag name, or the SHA as given)
    name: str


# --- plumbing ------------------------------------------------------------------------


def _env(
    repo: Path | None, extra: Mapping[str, str] | None = None, *, ceiling: bool = True
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in REPO_VARS}
    env["GIT_TERMINAL_PROMPT"] = "0"
    if repo is not None and ceiling:
        env["GIT_CEILING_DIRECTORIES"] = os.path.dirname(os.path.realpath(repo))
    if extra:
        env.update(extra)
    return env


def _credentials(url: str | None) -> str | None:
    """The secret part of ``url``'s user information (``user:token`` of
    ``git://user:token@host/x``; any user of an http(s) URL, a token given as the user
    name), or None; ``ssh://git@host`` names no secret (the rule of :func:`redact`)."""
    if not url or "@" not in url:
        return None
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    userinfo = rest.split("/", 1)[0].rpartition("@")[0]
    if userinfo and (":" in userinfo or scheme.lower().startswith("http")):
        return userinfo
    return None


def hide(text: str, url: str | None = None) -> str:
    """``text`` as it may be shown: :func:`redact`, and the credentials of ``url``
    replaced by ``***`` wherever they appear, with or without the URL around them."""
    secret = _credentials(url)
    if secret is not None:
        text = text.replace(secret + "@", MASK + "@")
        token = secret.rpartition(":")[2]  # the password, or a token given as the user
        if len(token) >= MIN_SECRET_LENGTH:  # shorter ones would hit ordinary words
            text = text.replace(token, MASK)
    return redact(text)


def _reason(stderr: str, url: str | None = None) -> str:
    """The informative part of git's stderr, on one line."""
    lines = []
    for raw in stderr.splitlines():
        line = raw.strip()
        if not line or line.lower().startswith(_BOILERPLATE):
            continue
        for prefix in ("fatal: ", "error: "):
            if line.startswith(prefix):
                line = line[len(prefix) :]
        lines.append(line)
    text = "; ".join(lines[:4]) or "no error output"
    return hide(text if len(text) <= 400 else text[:397] + "...", url)


def run(
    repo: Path | None,
    args: Sequence[str | os.PathLike[str]],
    *,
    what: str,
    url: str | None = None,
    remote: bool = False,
    extra_env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> proc.Result:
    """Run ``git args`` in ``repo``; a failure raises NetworkError or GitError.

    ``what`` describes the operation for the message (``"cannot fetch into afw"``);
    the message names ``url``, or with ``remote`` origin's URL (looked up on failure).
    """
    try:
        return proc.run(["git", *args], cwd=repo, env=_env(repo, extra_env), timeout=timeout)
    except CommandError as exc:
        if url is None and remote and repo is not None:
            url = remote_url(repo)
        reason = _reason(exc.stderr_tail, url)
        where = f" ({hide(url, url)})" if url else ""
        message = f"{what}{where}: {reason}"
        if _NETWORK_PATTERNS.search(exc.stderr_tail):
            err: NetworkError | GitError = NetworkError(
                message, hint="check the URL, the network and your git credentials"
            )
        else:
            hint = None
            if "please tell me who you are" in exc.stderr_tail.lower():
                hint = "set user.name and user.email with `git config`"
            err = GitError(message, exc, hint=hint, url=url)
        # the CommandError's argv may hold a URL with credentials: do not chain it then
        if url is not None and hide(url, url) != url:
            raise err from None
        raise err from exc


def query(repo: Path, args: Sequence[str]) -> proc.Result:
    """Run a read-only git command in the work tree ``repo`` whose failure is an
    answer, not an error."""
    return proc.run(["git", *args], cwd=repo, env=_env(repo), check=False)


def store_args(repo: Path) -> list[str]:
    """``--git-dir`` for a bare repository or a work tree's ``.git`` (no discovery);
    else ``-C repo``."""
    dotgit = repo / ".git"
    if dotgit.is_dir():
        return ["--git-dir", str(dotgit)]
    if (repo / "objects").is_dir() and (repo / "HEAD").is_file():
        return ["--git-dir", str(repo)]
    return ["-C", str(repo)]


def call(
    repo: Path | None,
    args: Sequence[str | os.PathLike[str]],
    *,
    input: bytes = b"",
    extra_env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    url: str | None = None,
) -> proc.Result:
    """``git args`` on the store of ``repo`` (None: outside any repository), unchecked:
    the caller reads the exit code and the output.

    A bare repository or a work tree's ``.git`` is named with ``--git-dir``
    (:func:`store_args`): no discovery, and no work tree, so this is for commands that
    read or write objects and refs (log, cat-file, fetch, push, update-ref...), many of
    them in a row.  The output is decoded as UTF-8 with replacement; the result's argv
    and stderr have gone through :func:`hide` (with ``url``).  A command still running
    after ``timeout`` seconds is taken down and raises :class:`GitTimeout`.
    """
    where = store_args(repo) if repo is not None else []
    located = bool(where) and where[0] == "--git-dir"
    env = _env(repo, extra_env, ceiling=not located)
    try:
        result = proc.run(["git", *where, *args], env=env, input=input, check=False,
                          timeout=timeout)  # fmt: skip
    except CommandError as exc:  # only a timeout: the command is unchecked
        if timeout is None:  # pragma: no cover - proc raises nothing else here
            raise
        verb = next((str(a) for a in args if not str(a).startswith("-")), "git")
        raise GitTimeout(
            f"git {verb} timed out after {timeout:g} s" + (f" ({hide(url, url)})" if url else ""),
            exc,
            url=url,
        ) from None
    return proc.Result(
        [hide(a, url) for a in result.argv], result.returncode, result.stdout,
        hide(result.stderr, url) if result.stderr else "",
    )  # fmt: skip


def _git_dir(repo: Path) -> Path | None:
    dotgit = repo / ".git"
    if dotgit.is_dir():
        return dotgit
    if (repo / "HEAD").is_file() and (repo / "objects").is_dir():
        return repo  # a bare repository
    return None


def is_repo(repo: str | os.PathLike[str]) -> bool:
    """Whether ``repo`` is the root of a git repository (work tree or bare)."""
    path = Path(repo)
    return _git_dir(path) is not None or (path / ".git").is_file()


# --- reading -------------------------------------------------------------------------


def head_sha(repo: str | os.PathLike[str]) -> str:
    """The commit HEAD points at.

    Reads HEAD, the loose ref and packed-refs directly (about 100x faster than
    ``git rev-parse HEAD`` in a subprocess, which matters for no-op rebuilds of a whole
    stack).  Anything the files do not settle for sure is git's to answer: a linked
    worktree (``.git`` is a file), a symbolic ref chain, a reftable repository, HEAD on
    a branch that does not exist.
    """
    path = Path(repo)
    gd = _git_dir(path)
    if gd is None:
        if not path.exists():
            raise InputError(f"{path}: no such directory")
        if (path / ".git").is_file():
            return rev_parse(path, "HEAD")
        raise InputError(f"{path} is not a git repository")
    sha = gitrefs.read_head(gd)
    return sha if sha is not None else rev_parse(path, "HEAD")


def read_ref(repo: str | os.PathLike[str], ref: str) -> str | None:
    """What a full ref name (``refs/remotes/origin/main``) points at, read from files:
    no subprocess.  None when the files do not say (the caller may ask git)."""
    gd = _git_dir(Path(repo))
    return gitrefs.read_ref(gd, ref) if gd is not None else None


def origin_url_in_config(repo: str | os.PathLike[str]) -> str | None:
    """``remote.origin.url`` read from the repository's plain config file (no git
    process); None when there is none or the file uses includes (ask git then)."""
    gd = _git_dir(Path(repo))
    if gd is None:
        return None
    try:
        text = (gd / "config").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if "[include" in text.lower():
        return None
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line.replace(" ", "").lower()
        elif section == '[remote"origin"]' and line.split("=", 1)[0].strip() == "url":
            return line.split("=", 1)[1].strip()
    return None


def origin_url_fast(repo: str | os.PathLike[str]) -> str | None:
    """``remote.origin.url`` read from ``.git/config`` when that file is plain (no
    includes); otherwise (or when absent) from git itself."""
    return origin_url_in_config(repo) or remote_url(repo)


def _verify(repo: Path, rev: str) -> str | None:
    res = query(repo, ["rev-parse", "--verify", "--quiet", rev])
    sha = res.stdout.strip()
    return sha if res.returncode == 0 and gitrefs.is_sha(sha) else None


def rev_parse(repo: str | os.PathLike[str], rev: str) -> str:
    sha = _verify(Path(repo), f"{rev}^{{commit}}")
    if sha is None:
        raise InputError(f"{repo}: cannot resolve {rev!r} to a commit")
    return sha


def check_ref(ref: str) -> None:
    """Raise InputError unless ``ref`` is a valid branch or tag name (or a SHA).

    The rules of ``git check-ref-format --branch``, checked here: a name must not be an
    option (``-x``), a revision expression (``HEAD~1``, ``main^``, ``@{u}``) or ``HEAD``.
    """
    bad = (
        not ref
        or ref in ("HEAD", "@")
        or ref.startswith(("-", "/"))
        or ref.endswith(("/", ".", ".lock"))
        or ".." in ref
        or "//" in ref
        or "@{" in ref
        or "/." in ref
        or ref.startswith(".")
        or _BAD_REF_CHARS.search(ref) is not None
    )
    if bad:
        raise InputError(f"invalid git ref {ref!r}")


def resolve_ref(repo: str | os.PathLike[str], ref: str) -> ResolvedRef | None:
    """What ``ref`` names in ``repo``, or None: lsst_build's fallback order.

    1. a branch of origin: ``refs/remotes/origin/<ref>``;
    2. a tag, peeled to its commit: ``refs/tags/<ref>^0``;
    3. a commit SHA, full or abbreviated.  Only hex strings are tried here (lsst_build
       gets the same effect by asking for ``__dummy-g<ref>``), so that a ref like
       ``HEAD~3`` or a local branch name never passes as a SHA.
    """
    check_ref(ref)
    path = Path(repo)
    sha = _verify(path, f"refs/remotes/origin/{ref}^{{commit}}")
    if sha is not None:
        return ResolvedRef(sha, "branch", ref)
    sha = _verify(path, f"refs/tags/{ref}^0")
    if sha is not None:
        return ResolvedRef(sha, "tag", ref)
    if _ABBREV_SHA.match(ref):
        sha = _verify(path, f"{ref}^{{commit}}")
        if sha is not None:
            return ResolvedRef(sha, "sha", ref)
    return None


def remote_url(repo: str | os.PathLike[str], remote: str = "origin") -> str | None:
    """The URL of ``remote``; None when there is no such remote or no repository."""
    path = Path(repo)
    if not is_repo(path):
        return None
    res = query(path, ["config", "--get", f"remote.{remote}.url"])
    url = res.stdout.strip()
    return url if res.returncode == 0 and url else None


def current_branch(repo: str | os.PathLike[str]) -> str | None:
    """The branch HEAD is on; None when HEAD is detached."""
    res = query(Path(repo), ["symbolic-ref", "--quiet", "--short", "HEAD"])
    name = res.stdout.strip()
    return name if res.returncode == 0 and name else None


def is_dirty(repo: str | os.PathLike[str], *, untracked: bool = False) -> bool:
    """Whether tracked files differ from HEAD (or, with ``untracked``, any file is new).

    By default untracked files do not count, as with ``git describe --dirty``, which
    lsst_build uses for the versiondb check.
    """
    path = Path(repo)
    mode = "normal" if untracked else "no"
    res = run(
        path, ["status", "--porcelain", f"--untracked-files={mode}"], what=f"git status in {path}"
    )
    return bool(res.stdout.strip())


def tags(repo: str | os.PathLike[str], pattern: str = "*") -> list[str]:
    """Tags matching the glob ``pattern``, in git's (refname) order."""
    path = Path(repo)
    res = run(path, ["tag", "--list", pattern], what=f"cannot list tags in {path}")
    return res.stdout.split()


# --- remotes -------------------------------------------------------------------------


def clone(
    url: str,
    dest: str | os.PathLike[str],
    *,
    lfs_smudge: bool = True,
    timeout: float = REMOTE_TIMEOUT,
    extra_env: Mapping[str, str] | None = None,
) -> None:
    """``git clone url dest``.

    With ``lfs_smudge=False`` git-lfs leaves pointer files in the work tree
    (``GIT_LFS_SKIP_SMUDGE=1``), to be filled later, all at once, by :func:`lfs_pull`.
    ``extra_env`` adds to git's environment (``GIT_ALLOW_PROTOCOL`` for a URL that comes
    from a server).
    """
    path = Path(dest)
    env = dict(extra_env or {})
    if not lfs_smudge:
        env["GIT_LFS_SKIP_SMUDGE"] = "1"
    run(
        None,
        [*HTTP_LIMITS, "clone", "--quiet", "--", url, path],
        what=f"cannot clone into {path}",
        url=url,
        extra_env=env,
        timeout=timeout,
    )


def set_remote_url(repo: str | os.PathLike[str], url: str, remote: str = "origin") -> None:
    path = Path(repo)
    run(
        path,
        ["remote", "set-url", remote, url],
        what=f"cannot set the URL of {remote} in {path}",
        url=url,
    )


#: lsst_build's mirror fetch.  The work directory mirrors the remote: local branches
#: equal the remote's (``+refs/heads/*:refs/heads/*``), remote-tracking refs too (what
#: :func:`resolve_ref` looks at), and tags are forced, so a moved tag moves here too.
#: With ``--prune`` a branch or tag deleted on the remote is deleted here.
MIRROR_REFSPECS = (
    "+refs/heads/*:refs/heads/*",
    "+refs/heads/*:refs/remotes/origin/*",
    "+refs/tags/*:refs/tags/*",
)


def fetch_mirror(repo: str | os.PathLike[str], *, timeout: float = REMOTE_TIMEOUT) -> None:
    """Detach HEAD, then make every branch and tag equal to origin's (with prune).

    HEAD is detached first (at the same commit, the work tree untouched) because git
    refuses to force-update the branch that is checked out, and because that branch may
    be among those deleted on the remote.
    """
    path = Path(repo)
    detach = query(path, ["checkout", "--quiet", "--detach"])
    if detach.returncode != 0 and _verify(path, "HEAD") is not None:
        # HEAD exists, so this was a real failure (an unborn HEAD cannot be detached)
        run(path, ["checkout", "--quiet", "--detach"], what=f"cannot detach HEAD in {path}")
    run(
        path,
        [*HTTP_LIMITS, "fetch", "--quiet", "--force", "--prune", "origin", *MIRROR_REFSPECS],
        what=f"cannot fetch into {path}",
        remote=True,
        timeout=timeout,
    )


def set_head_auto(repo: str | os.PathLike[str], *, timeout: float = REMOTE_TIMEOUT) -> None:
    """``git remote set-head origin -a``: origin/HEAD follows the remote's default branch."""
    path = Path(repo)
    run(
        path,
        ["remote", "set-head", "origin", "--auto"],
        what=f"cannot ask origin for its default branch in {path}",
        remote=True,
        timeout=timeout,
    )


# --- the work tree -------------------------------------------------------------------


def _smudge_env(lfs_smudge: bool) -> dict[str, str] | None:
    return None if lfs_smudge else {"GIT_LFS_SKIP_SMUDGE": "1"}


def checkout(
    repo: str | os.PathLike[str],
    ref: str,
    *,
    force: bool = True,
    branch_at: str | None = None,
    lfs_smudge: bool = True,
    timeout: float = REMOTE_TIMEOUT,
) -> None:
    """Check out ``ref`` (local changes are thrown away with ``force``).

    With ``branch_at``, the local branch ``ref`` is first created or reset to that
    commit (``checkout -B``): one step for lsst_build's ``checkout R`` followed by
    ``reset --hard <remote sha>``, which also works when the branch does not exist
    locally yet.  The timeout is there because git-lfs may download while smudging.
    """
    path = Path(repo)
    check_ref(ref)
    args = ["-c", "advice.detachedHead=false", "checkout", "--quiet"]
    if force:
        args.append("--force")
    if branch_at is not None:
        args += ["-B", ref, branch_at]
    else:
        args.append(ref)
    run(
        path,
        [*args, "--"],
        what=f"cannot check out {ref} in {path}",
        extra_env=_smudge_env(lfs_smudge),
        timeout=timeout,
    )


def reset_hard(
    repo: str | os.PathLike[str],
    sha: str,
    *,
    lfs_smudge: bool = True,
    timeout: float = REMOTE_TIMEOUT,
) -> None:
    path = Path(repo)
    check_ref(sha)
    run(
        path,
        ["reset", "--quiet", "--hard", sha, "--"],
        what=f"cannot reset {path} to {sha}",
        extra_env=_smudge_env(lfs_smudge),
        timeout=timeout,
    )


def archive(repo: str | os.PathLike[str], rev: str, dest: Path) -> None:
    """``git archive --format=tar -o DEST REV``: the tree at ``rev`` as a tar file."""
    path = Path(repo)
    run(path, ["archive", "--format=tar", "-o", dest, rev],
         what=f"cannot archive {rev} of {path}")  # fmt: skip


def clean(repo: str | os.PathLike[str]) -> None:
    """``git clean -dfqx``: remove untracked and ignored files (old build products)."""
    path = Path(repo)
    run(path, ["clean", "-d", "-f", "-q", "-x"], what=f"cannot clean {path}")


Identity = tuple[str, str]


def identity_env(identity: Identity | None) -> dict[str, str] | None:
    """Author and committer ``(name, email)`` as git's environment variables."""
    if identity is None:
        return None
    name, email = identity
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def commit_all(
    repo: str | os.PathLike[str], message: str, *, identity: Identity | None = None
) -> str:
    """Stage every change (``add -A``) and commit it; return the new commit's SHA."""
    path = Path(repo)
    run(path, ["add", "--all"], what=f"cannot stage changes in {path}")
    run(
        path,
        ["commit", "--quiet", "-m", message],
        what=f"cannot commit in {path}",
        extra_env=identity_env(identity),
    )
    return head_sha(path)


def commit_paths(
    repo: str | os.PathLike[str],
    message: str,
    paths: Sequence[str],
    *,
    identity: Identity | None = None,
) -> str:
    """Stage and commit ``paths`` (relative to ``repo``) only; return the new SHA.

    Whatever else is modified or staged in the repository stays out of the commit.
    ``identity`` (name, email) overrides git's configured author and committer.
    """
    path = Path(repo)
    run(path, ["add", "--", *paths], what=f"cannot stage {', '.join(paths)} in {path}")
    run(
        path,
        ["commit", "--quiet", "--only", "-m", message, "--", *paths],
        what=f"cannot commit in {path}",
        extra_env=identity_env(identity),
    )
    return head_sha(path)


def unstage(repo: str | os.PathLike[str], paths: Sequence[str]) -> None:
    """Make the index entries of ``paths`` equal HEAD's again (``reset -- paths``)."""
    path = Path(repo)
    run(path, ["reset", "--quiet", "--", *paths], what=f"cannot unstage files in {path}")


def tag_annotated(
    repo: str | os.PathLike[str],
    name: str,
    message: str,
    ref: str = "HEAD",
    *,
    identity: Identity | None = None,
) -> None:
    path = Path(repo)
    check_ref(name)
    run(
        path,
        ["tag", "--annotate", "-m", message, name, ref],
        what=f"cannot create tag {name} in {path}",
        extra_env=identity_env(identity),
    )


def init(repo: str | os.PathLike[str], *, branch: str = "main") -> None:
    """``git init`` a new (non-bare) repository whose first branch is ``branch``."""
    path = Path(repo)
    path.mkdir(parents=True, exist_ok=True)
    run(path, ["init", "--quiet", f"--initial-branch={branch}"], what=f"cannot init {path}")


# --- git-lfs -------------------------------------------------------------------------


def lfs_available() -> bool:
    """Whether ``git lfs`` works here (git-lfs is an optional extra of git)."""
    res = proc.run(["git", "lfs", "version"], env=_env(None), check=False)
    return res.returncode == 0


def lfs_configure(repo: str | os.PathLike[str]) -> bool:
    """Make sure git-lfs's filters are configured for ``repo``; True when they were not.

    Without them (git-lfs installed, ``git lfs install`` never run: a conda or tarball
    git-lfs, a CI image) ``git lfs pull`` downloads the objects but leaves the pointer
    files in the work tree.  They go into the repository's own config, hooks untouched.
    """
    path = Path(repo)
    if config_get("filter.lfs.process", path) is not None:
        return False
    run(path, ["lfs", "install", "--local", "--skip-repo"], what=f"git lfs install in {path}")
    return True


def lfs_pull(repo: str | os.PathLike[str], *, timeout: float = REMOTE_TIMEOUT) -> None:
    """Download and check out the LFS files of HEAD (after a clone without smudge)."""
    path = Path(repo)
    run(
        path,
        ["lfs", "pull"],
        what=f"git lfs pull failed in {path}",
        remote=True,
        timeout=timeout,
    )


def config_get(key: str, repo: str | os.PathLike[str] | None = None) -> str | None:
    """``git config --get key`` (global and system config, or ``repo``'s), or None."""
    cwd = Path(repo) if repo is not None else Path.home()
    res = proc.run(["git", "config", "--get", key], cwd=cwd, env=_env(None), check=False)
    value = res.stdout.strip()
    return value if res.returncode == 0 and value else None


def is_ancestor(repo: str | os.PathLike[str], ancestor: str, descendant: str) -> bool:
    """Whether ``ancestor`` is reachable from ``descendant`` (``merge-base --is-ancestor``)."""
    res = query(Path(repo), ["merge-base", "--is-ancestor", ancestor, descendant])
    return res.returncode == 0
