"""Publishing the versiondb: push the recorded builds to the versiondb's remote.

A build records its manifest in a local versiondb checkout (:class:`VersionDb`: commit
``Updates for build bN.`` and annotated tag ``bN``).  Publishing pushes the branch and
the tag, in one atomic push, and only what the remote lacks: the branch when HEAD
moved, the tag when the remote does not have it.  Rerunning is a no-op; a remote tag
``bN`` that is another object than ours is an error (two builds claimed one id).

Before allocating a build id, :func:`sync` brings the checkout up to the remote's
branch and ``b*`` tags (lsstsw's rebuild pulls the versiondb first when it pushes), so
two build hosts do not hand out the same id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, IntegrityError, ScipipeError
from ..eups.buildid import build_number
from ..eups.manifest import Manifest
from ..infra import git
from ..infra.files import write_atomic
from ..stack.versiondb import CONTENT_DB, VersionDb

log = logging.getLogger(__name__)

# Extra git verbs go through git's choke point (its environment, timeouts and network
# error mapping); scipipe_tools.infra.git itself is not ours to change.
_run = git.run


@dataclass
class VdbPublishResult:
    path: str
    remote: str
    branch: str
    head: str
    build_id: str | None
    #: what the remote's branch pointed at before (None: no such branch)
    remote_head: str | None
    #: "push" or "up-to-date"
    branch_action: str
    #: "push", "on-remote" or "none" (no build id)
    tag_action: str
    dry_run: bool = False
    #: whether a manifest was recorded first (None: none was given)
    recorded: bool | None = None

    @property
    def pushed(self) -> bool:
        return not self.dry_run and "push" in (self.branch_action, self.tag_action)

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "remote": self.remote,
            "branch": self.branch,
            "head": self.head,
            "build_id": self.build_id,
            "remote_head": self.remote_head,
            "branch_action": self.branch_action,
            "tag_action": self.tag_action,
            "recorded": self.recorded,
            "dry_run": self.dry_run,
            "pushed": self.pushed,
        }


# --- git verbs ---------------------------------------------------------------------------


def remote_refs(path: Path, remote: str, refs: list[str]) -> dict[str, str]:
    """``git ls-remote REMOTE REFS``: full ref name -> SHA (peeled tags as ``ref^{}``)."""
    res = _run(
        path,
        ["ls-remote", remote, *refs],
        what=f"cannot list the refs of {remote} from {path}",
        remote=True,
        timeout=git.REMOTE_TIMEOUT,
    )
    out: dict[str, str] = {}
    for line in res.stdout.splitlines():
        sha, _, ref = line.partition("\t")
        if ref:
            out[ref.strip()] = sha.strip()
    return out


def _local(path: Path, ref: str) -> str | None:
    res = git.query(path, ["rev-parse", "--verify", "--quiet", ref])
    sha = res.stdout.strip()
    return sha if res.returncode == 0 and sha else None


def _head_build_ids(path: Path) -> list[str]:
    res = _run(path, ["tag", "--points-at", "HEAD", "--list", "b*"], what=f"git tag in {path}")
    ids = [t for t in res.stdout.split() if build_number(t) is not None]
    return sorted(ids, key=lambda t: build_number(t) or 0)


def _has_remote(path: Path, remote: str) -> bool:
    return git.remote_url(path, remote) is not None


def _branch(path: Path) -> str:
    branch = git.current_branch(path)
    if branch is None:
        raise InputError(
            f"versiondb {path}: HEAD is detached",
            hint=f"check out its branch (git -C {path} switch main)",
        )
    return branch


# --- checkout, sync, publish ---------------------------------------------------------------


def ensure_checkout(
    path: Path,
    *,
    url: str | None = None,
    remote: str = "origin",
    identity: git.Identity | None = None,
) -> VersionDb:
    """The versiondb at ``path``: cloned from ``url`` (as ``remote``) or created if absent.

    An existing checkout is used as it is, with ``remote`` added when ``url`` is given
    and it has no such remote.  A clone of an empty remote gets the initial commit.
    """
    path = Path(path)
    if git.is_repo(path):
        if url and not _has_remote(path, remote):
            _run(path, ["remote", "add", remote, url], what=f"cannot add remote {remote} to {path}")
        return VersionDb(path, identity)
    if path.exists() and any(path.iterdir()):
        raise InputError(f"versiondb {path} exists but is not a git repository")
    if url is None:
        return VersionDb.init(path, identity)
    path.parent.mkdir(parents=True, exist_ok=True)
    _run(
        None,
        ["clone", "--quiet", "--origin", remote, "--", url, path],
        what=f"cannot clone the versiondb into {path}",
        url=url,
        timeout=git.REMOTE_TIMEOUT,
    )
    db = VersionDb(path, identity)
    if _local(path, "HEAD") is None:  # an empty remote: start its history
        write_atomic(db.content_db_path, "")
        git.commit_paths(
            path, "Initialize the versiondb.", [f"manifests/{CONTENT_DB}"], identity=identity
        )
    return db


def sync(path: Path, *, remote: str = "origin") -> str:
    """Fast-forward the checkout's branch to the remote's and fetch its ``b*`` tags.

    A checkout ahead of the remote (recorded, not yet pushed) stays as it is; one that
    has diverged is an error.  Returns HEAD.
    """
    path = Path(path)
    branch = _branch(path)
    refs = remote_refs(path, remote, [f"refs/heads/{branch}"])
    specs = ["refs/tags/b*:refs/tags/b*"]
    tracking = f"refs/remotes/{remote}/{branch}"
    if f"refs/heads/{branch}" in refs:
        specs.insert(0, f"+refs/heads/{branch}:{tracking}")
    _run(
        path,
        ["fetch", "--quiet", "--no-tags", remote, *specs],
        what=f"cannot fetch the versiondb from {remote} into {path}",
        remote=True,
        timeout=git.REMOTE_TIMEOUT,
    )
    if f"refs/heads/{branch}" in refs:
        try:
            _run(
                path,
                ["merge", "--quiet", "--ff-only", tracking],
                what=f"cannot fast-forward versiondb {path} to {remote}/{branch}",
            )
        except ScipipeError as exc:
            raise ScipipeError(
                exc.message,
                hint=f"the local versiondb and {remote} have diverged: reconcile them by hand "
                f"(git -C {path} log --oneline --graph HEAD {tracking})",
            ) from exc
    return git.head_sha(path)


def publish_versiondb(
    path: Path, build_id: str | None = None, *, remote: str = "origin", dry_run: bool = False
) -> VdbPublishResult:
    """Push the branch and tag ``build_id`` (default: the newest ``b*`` tag on HEAD).

    Only what the remote lacks is pushed, in one atomic push.
    """
    path = Path(path)
    if not git.is_repo(path):
        raise InputError(f"versiondb {path} is not a git repository")
    if not _has_remote(path, remote):
        raise InputError(
            f"versiondb {path} has no remote {remote!r}",
            hint=f"git -C {path} remote add {remote} URL",
        )
    branch = _branch(path)
    head = git.head_sha(path)
    if build_id is None:
        on_head = _head_build_ids(path)
        build_id = on_head[-1] if on_head else None
    local_tag = None
    if build_id is not None:
        local_tag = _local(path, f"refs/tags/{build_id}")
        if local_tag is None:
            raise InputError(f"versiondb {path} has no tag {build_id}: record the build first")
    asked = [f"refs/heads/{branch}"] + ([f"refs/tags/{build_id}"] if build_id else [])
    refs = remote_refs(path, remote, asked)
    remote_head = refs.get(f"refs/heads/{branch}")
    branch_action = "up-to-date" if remote_head == head else "push"
    tag_action = "none"
    specs: list[str] = []
    if branch_action == "push":
        specs.append(f"refs/heads/{branch}:refs/heads/{branch}")
    if build_id is not None:
        theirs = refs.get(f"refs/tags/{build_id}")
        if theirs is None:
            tag_action = "push"
            specs.append(f"refs/tags/{build_id}:refs/tags/{build_id}")
        elif theirs != local_tag:
            raise IntegrityError(
                f"versiondb remote {remote} already has a tag {build_id} that is not ours "
                f"({theirs[:12]} vs {(local_tag or '')[:12]})",
                hint="another build took the same id: sync the versiondb and rebuild",
            )
        else:
            tag_action = "on-remote"
    result = VdbPublishResult(
        str(path), remote, branch, head, build_id, remote_head, branch_action, tag_action, dry_run
    )
    if not specs:
        log.info("versiondb %s: %s already has %s", path, remote, build_id or branch)
        return result
    if dry_run:
        log.info("(noop) versiondb %s: push %s to %s", path, " ".join(specs), remote)
        return result
    try:
        _run(
            path,
            ["push", "--quiet", "--atomic", remote, *specs],
            what=f"cannot push versiondb {path} to {remote}",
            remote=True,
            timeout=git.REMOTE_TIMEOUT,
        )
    except ScipipeError as exc:
        if "rejected" in str(exc) or "fetch first" in str(exc) or "non-fast-forward" in str(exc):
            raise ScipipeError(
                exc.message,
                hint="the remote versiondb moved: another build was recorded meanwhile; "
                "sync it (the release flows do) and rebuild",
            ) from exc
        raise
    log.info("versiondb %s: pushed %s to %s", path, " ".join(specs), remote)
    return result


def record_and_publish(
    versiondb_path: Path,
    manifest: Manifest,
    remote: str = "origin",
    push: bool = True,
    *,
    dry_run: bool = False,
) -> VdbPublishResult | None:
    """Record ``manifest`` (which carries its build id) and push it when ``push``.

    Recording a manifest already recorded under its id is a no-op, so this is safe to
    rerun.  With ``dry_run`` nothing is recorded and the push is only planned.  Returns
    None when nothing was to be pushed (``push`` false).
    """
    db = VersionDb(versiondb_path)
    recorded: bool | None = None
    if not dry_run:
        recorded = db.record(manifest)
    if not push:
        return None
    build_id = manifest.build_id
    if dry_run and build_id and _local(db.path, f"refs/tags/{build_id}") is None:
        build_id = None  # not recorded yet: only the branch can be planned
    result = publish_versiondb(db.path, build_id, remote=remote, dry_run=dry_run)
    result.recorded = recorded
    return result
