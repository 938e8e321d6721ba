"""A credential in a repository URL never shows in what a failing changelog git reports.

git itself hides the credentials of an ``https://`` URL in its messages, not always
those of a ``git://`` one: a name it cannot look up is echoed whole
(``unable to look up user:token@host``), with no ``scheme://`` before it for a pattern to
catch.  The git gateway knows the URL it was given and masks its credentials wherever
they appear.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from scipipe_tools.changelog.clones import ensure_clones
from scipipe_tools.demo.gitrepo import Repo
from scipipe_tools.errors import ScipipeError
from scipipe_tools.eups.repos import parse_repos
from scipipe_tools.infra import git

SECRET = "s3cretTOKEN"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def secret_url() -> str:
    return f"git://user:{SECRET}@127.0.0.1:{closed_port()}/afw.git"


def test_a_failing_clone_does_not_report_the_credential(tmp_path: Path) -> None:
    url = secret_url()
    repos = parse_repos(f"afw: {url}\n", tmp_path / "repos.yaml")
    clones = ensure_clones(["afw"], repos, tmp_path / "clones")
    assert list(clones.failed) == ["afw"]
    why = clones.failed["afw"]
    assert why.startswith("cannot clone git://***@127.0.0.1:")
    assert SECRET not in why


def test_a_failing_fetch_does_not_report_the_credential(tmp_path: Path) -> None:
    Repo.init(tmp_path / "clones" / "afw.git", bare=True)
    url = secret_url()
    repos = parse_repos(f"afw: {url}\n", tmp_path / "repos.yaml")
    clones = ensure_clones(["afw"], repos, tmp_path / "clones")
    assert list(clones.stale) == ["afw"]
    assert SECRET not in clones.failed["afw"]


def test_the_gateway_error_does_not_carry_the_credential(tmp_path: Path) -> None:
    with pytest.raises(ScipipeError) as info:
        git.clone(secret_url(), tmp_path / "dest")
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value.args)
    assert info.value.__cause__ is None


def test_call_times_out_and_hides_what_git_says(tmp_path: Path) -> None:
    with socket.socket() as server:  # accepts the connection, never answers
        server.bind(("127.0.0.1", 0))
        server.listen()
        url = f"git://127.0.0.1:{server.getsockname()[1]}/afw.git"
        with pytest.raises(git.GitTimeout) as info:
            git.call(None, ["ls-remote", url], timeout=1, url=url)
    assert "timed out after 1 s" in str(info.value)
    http = f"http://user:{SECRET}@127.0.0.1:{closed_port()}/afw.git"
    result = git.call(None, ["ls-remote", http], url=http)
    assert result.returncode != 0
    assert SECRET not in result.stderr and SECRET not in " ".join(result.argv)
