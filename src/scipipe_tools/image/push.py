"""``scipipe image push``: every tag of a layout copied to a registry with skopeo."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, Location
from ..infra import proc
from ..infra.progress import NULL, Progress
from .base import SKOPEO_TIMEOUT, skopeo
from .oci import Layout

#: ``host[:port]/path`` with no tag or digest (the tags come from the layout)
_REPO = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+$")


@dataclass(frozen=True)
class PushOptions:
    layout: Path
    #: ``docker://host[:port]/repo`` or ``host[:port]/repo``
    dest: str
    #: the tags to push; empty: every tag in the layout
    tags: tuple[str, ...] = ()
    tls_verify: bool = True


def repository(dest: str) -> str:
    repo = dest.removeprefix("docker://")
    if not _REPO.match(repo):
        raise InputError(
            f"bad destination repository {dest!r}",
            hint="docker://HOST[:PORT]/REPO, without a tag (the tags come from the layout)",
        )
    return repo


def push(o: PushOptions, progress: Progress = NULL) -> list[str]:
    """Push the tags; returns the references written."""
    repo = repository(o.dest)
    have = Layout(o.layout).tags()
    if not have:
        raise InputError("the layout has no tagged image", location=Location.of(o.layout))
    tags: Sequence[str] = o.tags or sorted(have)
    for tag in tags:
        if tag not in have:
            raise InputError(
                f"no image tagged {tag!r} in the layout", location=Location.of(o.layout)
            )
    tool = skopeo()
    pushed = []
    progress.start(len(tags), "pushing")
    for tag in tags:
        ref = f"docker://{repo}:{tag}"
        argv = [tool, "copy", f"--dest-tls-verify={str(o.tls_verify).lower()}",
                f"oci:{o.layout}:{tag}", ref]  # fmt: skip
        proc.run(argv, timeout=SKOPEO_TIMEOUT)
        pushed.append(ref)
        progress.advance(tag)
    progress.finish()
    return pushed
