"""``scipipe distrib publish --to s3://`` and s3:// roots: the sample stack built for real,
published to moto's standalone S3 server on 127.0.0.1 through the real boto3 client,
installed back from the bucket; incremental, ordered and resumable publishes; prune.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scipipe_tools.demo.samplestack import materialize
from scipipe_tools.eups.taglist import TagList, TagRow, parse_taglist
from scipipe_tools.names import serverlayout as layout
from scipipe_tools.stack.stack import Stack
from tests.support.httpserver import closed_port
from tests.support.s3server import (
    ACCESS_KEY,
    SECRET_KEY,
    SESSION_TOKEN,
    S3Server,
    use_test_credentials,
)

from .conftest import Invoke

SCIPIPE = str(Path(sys.executable).parent / "scipipe")
FLAVOR = "Linux64"
TAG = "w_2025_02"
RUBIN_ENV = "13.0.1"
BUCKET = "pkgs"
ENV_TEXT = (
    "# platform: linux-64\n@EXPLICIT\n"
    f"https://conda.anaconda.org/conda-forge/linux-64/rubin-env-{RUBIN_ENV}-h0_0.conda#{'0' * 32}\n"
)


@dataclass(frozen=True)
class Built:
    """The sample stack as remotes, built once (b1) into ``work``."""

    remotes: Path
    repos_yaml: Path
    exclusions: Path
    work: Path
    env_file: Path

    @property
    def stack(self) -> Path:
        return self.work / "stack"

    def build(self) -> None:
        argv = [SCIPIPE, "-q", "build", "lsst_demo", "--repos", str(self.repos_yaml), "--root",
                str(self.work), "-j", "2", "--no-tests", "--exclusion-map", str(self.exclusions),
                "--flavor", FLAVOR]  # fmt: skip
        r = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert r.returncode == 0, r.stderr


def build_sample(base: Path, examples_dir: Path) -> Built:
    sample = materialize(examples_dir / "sample-stack", base / "remotes", history=False)
    env_file = base / "rubin-env.explicit"
    env_file.write_text(ENV_TEXT)
    assert sample.exclusions is not None
    built = Built(base / "remotes", sample.repos_yaml, sample.exclusions, base / "work", env_file)
    built.build()
    return built


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, examples_dir: Path) -> Built:
    return build_sample(tmp_path_factory.mktemp("s3-distrib"), examples_dir)


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """moto's server with an empty bucket; boto3 configured by the standard environment
    only (no ~/.aws of the machine), the endpoint in AWS_ENDPOINT_URL."""
    use_test_credentials(monkeypatch, tmp_path)
    monkeypatch.delenv("EUPS_PKGROOT", raising=False)
    with S3Server() as server:
        server.create_bucket(BUCKET)
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
        yield server


def publish_args(built: Built, to: str, *extra: str, build_id: str = "b1") -> list[str]:
    return ["distrib", "publish", "-b", build_id, "--stack", str(built.stack), "--flavor", FLAVOR,
            "-t", TAG, "--env-file", str(built.env_file), "--to", to, *extra, "lsst_demo"]  # fmt: skip


def published(r_out: str) -> dict[str, object]:
    upload: dict[str, object] = json.loads(r_out)["upload"]
    return upload


def sent(upload: dict[str, object]) -> list[str]:
    objects = upload["objects"]
    assert isinstance(objects, list)
    return [o["path"] for o in objects if o["action"] == "send"]


def skipped(upload: dict[str, object]) -> list[str]:
    objects = upload["objects"]
    assert isinstance(objects, list)
    return [o["path"] for o in objects if o["action"] == "skip"]


def local_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def check_lists_complete(s3: S3Server, prefix: str) -> int:
    """Every tag list in the bucket names only products whose tarball and manifest are
    there; the number of lists."""
    keys = set(s3.keys(BUCKET, prefix))
    lists = [k for k in keys if k.endswith(".list")]
    for rel in lists:
        tl = parse_taglist(s3.read(BUCKET, prefix + rel).decode(), rel)
        for row in tl.rows:
            assert layout.tarball(row.product, row.version, FLAVOR) in keys, (rel, row)
            assert layout.binary_manifest(row.product, row.version, FLAVOR) in keys, (rel, row)
    return len(lists)


# --- publish, install ------------------------------------------------------------------


def test_publish_to_s3_then_install_and_setup(
    scipipe: Invoke, built: Built, s3: S3Server, tmp_path: Path
) -> None:
    to = f"s3://{BUCKET}/stack/plain"
    staging = tmp_path / "staging"
    r = scipipe(*publish_args(built, to, "--sources", str(built.work / "sources"),
                              "--rolling", "w_latest", "--server-dir", str(staging), "--json"))  # fmt: skip
    assert r.code == 0, r.err
    upload = published(r.out)
    # the bucket holds exactly the staged root, every object sent once, none skipped
    assert s3.keys(BUCKET, "stack/plain/") == local_files(staging)
    assert sorted(sent(upload)) == local_files(staging) and skipped(upload) == []
    assert upload["sent"] == {"count": len(local_files(staging)),
                              "bytes": sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())}  # fmt: skip
    assert upload["endpoint"] == s3.endpoint and upload["staging"] == str(staging)
    # what the bucket holds is byte for byte the staged file, with its sha256 as metadata
    head = s3.client().head_object(Bucket=BUCKET, Key=f"stack/plain/tags/{TAG}.list")
    assert (
        s3.read(BUCKET, f"stack/plain/tags/{TAG}.list")
        == (staging / "tags" / f"{TAG}.list").read_bytes()
    )
    assert len(head["Metadata"]["sha256"]) == 64
    # the tags are listed from the bucket
    r = scipipe("distrib", "list", to)
    assert r.code == 0 and r.out.split() == [TAG, "w_latest"]
    # installed from the s3 root into a fresh stack, then set up in a real shell
    target = tmp_path / "stack"
    r = scipipe("distrib", "install", "-t", TAG, "--root", to, "--stack", str(target),
                "--flavor", FLAVOR, "--require-checksums", "--json", "lsst_demo")  # fmt: skip
    assert r.code == 0, r.err
    rows = json.loads(r.out)["rows"]
    assert {row["action"] for row in rows} == {"binary"} and {row["root"] for row in rows} == {to}
    stack, source = Stack(target, FLAVOR), Stack(built.stack, FLAVOR)
    assert stack.tag_version("afw", TAG) == source.tag_version("afw", "b1")
    script = (f'eval "$({SCIPIPE} setup lsst_demo -t {TAG} --stack {target} --flavor {FLAVOR})" '
              '&& python3 -c "import lsst_meas_base, lsst_afw; print(lsst_afw.__file__)"')  # fmt: skip
    sh = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert sh.returncode == 0, sh.stderr
    assert sh.stdout.startswith(str(target / FLAVOR / "afw"))


def test_rerun_sends_nothing_and_says_so(scipipe: Invoke, built: Built, s3: S3Server) -> None:
    to = f"s3://{BUCKET}/plain"
    r = scipipe(*publish_args(built, to, "--json"))  # a temporary staging root each time
    assert r.code == 0, r.err
    first = published(r.out)
    assert first["staging"] is None and skipped(first) == []
    before = {k: s3.client().head_object(Bucket=BUCKET, Key=f"plain/{k}")["LastModified"]
              for k in s3.keys(BUCKET, "plain/")}  # fmt: skip
    s3.forget_requests()
    r = scipipe(*publish_args(built, to, "--json"))
    assert r.code == 0, r.err
    again = published(r.out)
    assert sent(again) == [] and sorted(skipped(again)) == sorted(sent(first))
    assert again["sent"] == {"count": 0, "bytes": 0}
    assert s3.object_puts(BUCKET) == []  # not one PUT: nothing packed nor sent again
    assert {k: s3.client().head_object(Bucket=BUCKET, Key=f"plain/{k}")["LastModified"]
            for k in s3.keys(BUCKET, "plain/")} == before  # fmt: skip
    # the human form: what was sent and what skipped, counts and bytes
    r = scipipe(*publish_args(built, to))
    assert r.code == 0, r.err
    assert r.out == ""
    assert f"sent 0 objects (0 bytes), skipped {len(sent(first))} already there (" in r.err
    r = scipipe("-v", *publish_args(built, to))
    assert f"skip   {to}/{TAG}.list" in r.out and "[same checksum]" in r.out


def test_dry_run_sends_nothing(scipipe: Invoke, built: Built, s3: S3Server) -> None:
    to = f"s3://{BUCKET}/plain"
    r = scipipe(*publish_args(built, to, "--dry-run"))
    assert r.code == 0, r.err
    assert s3.keys(BUCKET) == [] and s3.object_puts(BUCKET) == []
    assert f"would send   {to}/{TAG}.list  (" in r.out
    assert "would send 47 objects" in r.err
    assert scipipe(*publish_args(built, to)).code == 0
    r = scipipe(*publish_args(built, to, "--dry-run", "--json"))
    assert r.code == 0 and sent(published(r.out)) == []


def test_only_a_changed_products_objects_are_sent(
    scipipe: Invoke, s3: S3Server, tmp_path: Path, examples_dir: Path
) -> None:
    own = build_sample(tmp_path, examples_dir)
    to = f"s3://{BUCKET}/plain"
    assert scipipe(*publish_args(own, to)).code == 0
    old = Stack(own.stack, FLAVOR).tag_version("lsst_demo", "b1")
    # a commit to lsst_demo (nothing depends on it), then the next build: b2
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(own.remotes / "remotes" / "lsst_demo.git"), str(clone)],
                   check=True)  # fmt: skip
    (clone / "CHANGES.txt").write_text("a change\n")
    for argv in (["add", "CHANGES.txt"], ["commit", "-qm", "A change"], ["push", "-q"]):
        subprocess.run(["git", "-C", str(clone), *argv], check=True)
    own.build()
    stack = Stack(own.stack, FLAVOR)
    new = stack.tag_version("lsst_demo", "b2")
    assert new is not None and new != old
    assert stack.tag_version("afw", "b2") == stack.tag_version("afw", "b1")
    r = scipipe(*publish_args(own, to, "--json", build_id="b2"))
    assert r.code == 0, r.err
    upload = published(r.out)
    assert sorted(sent(upload)) == sorted([
        layout.tarball("lsst_demo", new, FLAVOR),
        layout.sha256_of(layout.tarball("lsst_demo", new, FLAVOR)),
        layout.binary_manifest("lsst_demo", new, FLAVOR),
        layout.table("lsst_demo", new),
        f"{TAG}.list",  # the tag now names the new lsst_demo
    ])  # fmt: skip
    # all the rest of the publish was there: skipped
    assert len(skipped(upload)) == len(s3.keys(BUCKET, "plain/")) - 4 - 5
    tl = parse_taglist(s3.read(BUCKET, f"plain/{TAG}.list").decode(), TAG)
    assert {r.product: r.version for r in tl.rows}["lsst_demo"] == new
    assert check_lists_complete(s3, "plain/") == 1


def test_objects_go_in_order_and_an_interrupted_publish_completes(
    scipipe: Invoke, built: Built, s3: S3Server, tmp_path: Path
) -> None:
    to = f"s3://{BUCKET}/plain"
    args = publish_args(built, to, "--rolling", "w_latest", "-j", "4", "--json")
    # interrupted in the first step: some artifacts are there, no tag list
    s3.fail_puts_after = 10
    r = scipipe(*args)
    assert r.code == 5, r.err
    assert f"{to}/" in r.err and "access denied" in r.err
    keys = s3.keys(BUCKET, "plain/")
    assert len(keys) == 10 and not any(k.endswith(".list") for k in keys)
    # an artifact sent without its .sha256 (or the other way round) is not whole: it is
    # packed and sent again, both halves (one of them a new key; the other is the same
    # object again, or the same bytes and skipped when packed within the same second)
    artifacts = {k.removesuffix(".sha256") for k in keys}
    halves = sum(1 for a in artifacts if not {a, f"{a}.sha256"} <= set(keys))
    # run again, interrupted in the second step: every artifact, some manifests
    s3.forget_requests()
    s3.fail_puts_after = 17
    assert scipipe(*args).code == 5
    keys = s3.keys(BUCKET, "plain/")
    assert 27 - halves <= len(keys) <= 27 and not any(k.endswith(".list") for k in keys)
    assert sum(k.endswith((".tar.gz", ".sha256")) for k in keys) == 22
    # the same command again completes it, sending only what is missing
    s3.fail_puts_after = None
    s3.forget_requests()
    r = scipipe(*args)
    assert r.code == 0, r.err
    upload = published(r.out)
    assert sorted(skipped(upload)) == keys  # every object there is whole now: none again
    assert check_lists_complete(s3, "plain/") == 2
    # the order of the PUTs: artifacts, then the rest, then the tag lists
    puts = s3.object_puts(BUCKET, "plain/")
    assert sorted(puts) == sorted(sent(upload))
    step = [2 if p.endswith(".list") else 0 if p.removesuffix(".sha256").endswith(".tar.gz")
            else 1 for p in puts]  # fmt: skip
    assert step == sorted(step) and step[-2:] == [2, 2]
    # a fresh publish into another prefix: the full order
    s3.forget_requests()
    assert scipipe(*publish_args(built, f"s3://{BUCKET}/other", "-j", "4")).code == 0
    puts = s3.object_puts(BUCKET, "other/")
    step = [2 if p.endswith(".list") else 0 if p.removesuffix(".sha256").endswith(".tar.gz")
            else 1 for p in puts]  # fmt: skip
    assert step == sorted(step) and step.count(0) == 22 and step.count(2) == 1


def test_eups_tree_in_a_bucket_and_the_renamed_build_list(
    scipipe: Invoke, built: Built, s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    to = f"s3://{BUCKET}/stack"
    common = ["distrib", "publish", "-b", "b1", "--stack", str(built.stack), "--flavor", FLAVOR,
              "--env-file", str(built.env_file), "--sources", str(built.work / "sources"),
              "--platform", "linux-64", "--to", to]  # fmt: skip
    # b1 as itself first (an eups-root staging, kept), then renamed to the weekly: the
    # bN lists go from the bucket last, after the weekly's lists are there
    assert scipipe(*common, "--eups-root", str(tmp_path / "a"), "lsst_demo").code == 0
    binary = layout.binary_root_path("linux-64", RUBIN_ENV)
    keys = s3.keys(BUCKET, "stack/")
    assert f"{binary}/b1.list" in keys and "src/tags/b1.list" in keys
    s3.forget_requests()
    r = scipipe(*common, "-t", TAG, "--eups-root", str(tmp_path / "b"), "--json", "lsst_demo")
    assert r.code == 0, r.err
    keys = s3.keys(BUCKET, "stack/")
    assert f"{binary}/{TAG}.list" in keys and f"src/tags/{TAG}.list" in keys
    assert f"{binary}/b1.list" not in keys and "src/tags/b1.list" not in keys
    objects = published(r.out)["objects"]
    assert isinstance(objects, list)
    assert sorted(o["path"] for o in objects if o["action"] == "delete") == [
        f"{binary}/b1.list", "src/tags/b1.list"]  # fmt: skip
    assert sorted(sent(published(r.out))) == sorted([
        f"{binary}/{TAG}.list", f"src/tags/{TAG}.list", f"{binary}/env/{TAG}.env",
        f"src/env/{TAG}.env"])  # fmt: skip
    methods = [m for m, p in s3.requests if m in ("PUT", "DELETE")]
    assert methods[-2:] == ["DELETE", "DELETE"]
    # lsstinstall reads the tree's source root in the bucket (-T: the tag's rubin-env)
    from scipipe_tools.cli.app import run
    from scipipe_tools.cli.lsstinstall import lsstinstall

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(home)
    code = run(lsstinstall, ["-n", "-X", TAG, "-E", to, "--install", "lsst_demo"], "lsstinstall")
    assert code == 0


def test_the_bucket_refuses_a_damaged_upload(scipipe: Invoke, built: Built, s3: S3Server) -> None:
    s3.corrupt_puts = True
    r = scipipe(*publish_args(built, f"s3://{BUCKET}/plain"))
    assert r.code == 6, r.err
    assert f"s3://{BUCKET}/plain/" in r.err
    assert not any(k.endswith(".list") for k in s3.keys(BUCKET))


def test_credentials_are_never_printed(
    scipipe: Invoke, built: Built, s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # from a credentials file, not the environment: only the gateway knows they are secret
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    creds = tmp_path / "credentials"
    creds.write_text(f"[default]\naws_access_key_id = {ACCESS_KEY}\n"
                     f"aws_secret_access_key = {SECRET_KEY}\naws_session_token = {SESSION_TOKEN}\n")  # fmt: skip
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    to = f"s3://{BUCKET}/plain"
    r = scipipe("--debug", "-v", "-v", *publish_args(built, to))
    assert r.code == 0, r.err[-3000:]
    out = r.out + r.err
    assert "botocore" in r.err and "Authorization" in r.err  # the debug log was on
    assert SECRET_KEY not in out and SESSION_TOKEN not in out
    r = scipipe("--debug", "-v", "-v", "distrib", "install", "-t", TAG, "--root", to,
                "--stack", str(tmp_path / "stack"), "--flavor", FLAVOR, "lsst_demo")  # fmt: skip
    assert r.code == 0, r.err[-3000:]
    assert SECRET_KEY not in r.out + r.err and SESSION_TOKEN not in r.out + r.err
    # and an error's message names the URL, never a secret
    r = scipipe("--debug", "distrib", "install", "-t", "w_2099_01", "--root", to,
                "--stack", str(tmp_path / "stack2"), "--flavor", FLAVOR, "lsst_demo")  # fmt: skip
    assert r.code == 3 and "unknown tag 'w_2099_01'" in r.err
    assert SECRET_KEY not in r.err and SESSION_TOKEN not in r.err


# --- faults ----------------------------------------------------------------------------


def test_unreachable_endpoint_is_exit_5(
    scipipe: Invoke, built: Built, s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    r = scipipe(*publish_args(built, f"s3://{BUCKET}/plain", "--s3-endpoint", dead))
    assert r.code == 5
    assert f"s3://{BUCKET}/plain" in r.err and f"cannot reach the object store at {dead}" in r.err
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    r = scipipe("distrib", "install", "-t", TAG, "--root", f"s3://{BUCKET}/plain",
                "--stack", str(tmp_path / "stack"), "--flavor", FLAVOR, "lsst_demo")  # fmt: skip
    assert r.code == 5 and "cannot reach the object store" in r.err
    assert not (tmp_path / "stack").exists() or not list((tmp_path / "stack").glob(f"{FLAVOR}/*"))


@pytest.mark.parametrize(
    ("url", "code", "message"),
    [
        ("s3://Bad_Bucket/x", 2, "s3://Bad_Bucket: not a bucket name"),
        (f"s3://{BUCKET}/a/../b", 2, "not a plain object path"),
        (f"s3://key:secret@{BUCKET}/x", 2, "an s3:// URL names no credentials"),
        ("s3://no-such-bucket/x", 3, "s3://no-such-bucket: no such bucket"),
    ],
)
def test_bad_targets(
    scipipe: Invoke, built: Built, s3: S3Server, url: str, code: int, message: str
) -> None:
    r = scipipe(*publish_args(built, url))
    assert r.code == code and message in r.err, r.err
    assert len(r.err.splitlines()) <= 2 and "Traceback" not in r.err


def test_install_from_s3_errors(scipipe: Invoke, s3: S3Server, tmp_path: Path) -> None:
    base = ["distrib", "install", "--stack", str(tmp_path / "stack"), "--flavor", FLAVOR]
    r = scipipe(*base, "-t", TAG, "--root", f"s3://{BUCKET}/empty", "lsst_demo")
    assert r.code == 3 and f"no {TAG}.list in s3://{BUCKET}/empty" in r.err
    r = scipipe(*base, "-t", TAG, "--root", "s3://no-such-bucket/x", "lsst_demo")
    assert r.code == 3 and "s3://no-such-bucket" in r.err
    r = scipipe("distrib", "list", "s3://no-such-bucket/x")
    assert r.code == 3 and "s3://no-such-bucket: no such bucket" in r.err


def test_s3_endpoint_needs_to(scipipe: Invoke, built: Built, tmp_path: Path) -> None:
    r = scipipe("distrib", "publish", "-b", "b1", "--stack", str(built.stack), "--flavor", FLAVOR,
                "--conda-env", RUBIN_ENV, "--server-dir", str(tmp_path / "srv"),
                "--s3-endpoint", "http://127.0.0.1:1", "lsst_demo")  # fmt: skip
    assert r.code == 2 and "--s3-endpoint goes with --to" in r.err


# --- prune -----------------------------------------------------------------------------


def put_list(s3: S3Server, key: str, tag: str) -> None:
    text = TagList(tag, (TagRow("afw", "generic", "1.0"),), {"BUILD": "b1"}).to_text()
    s3.put(BUCKET, key, text.encode())


def test_prune_keeps_the_newest(scipipe: Invoke, s3: S3Server) -> None:
    dailies = [f"d_2025_01_{d:02d}" for d in (3, 1, 30, 2, 10)]
    weeklies = ["w_2024_52", "w_2025_01", "w_2025_10", "w_2025_02"]
    others = ["v29_0_0", "v29_0_0_rc1", "w_latest", "d_latest", "b12", "w.2025.01"]
    binary = layout.binary_root_path("linux-64", RUBIN_ENV)
    for tag in dailies + weeklies + others:
        put_list(s3, f"stack/src/tags/{tag}.list", tag)
        put_list(s3, f"stack/{binary}/{tag}.list", tag)
    s3.put(BUCKET, "stack/src/env/d_2025_01_01.env", b"@EXPLICIT\n")
    s3.put(BUCKET, "stack/src/manifests/afw-1.0.manifest", b"x\n")
    before = s3.keys(BUCKET)
    args = ["distrib", "prune", "--to", f"s3://{BUCKET}/stack", "--keep-daily", "2",
            "--keep-weekly", "1"]  # fmt: skip
    r = scipipe(*args, "--dry-run", "--json")
    assert r.code == 0, r.err
    plan = json.loads(r.out)
    assert plan["kept"] == {"daily": ["d_2025_01_30", "d_2025_01_10"], "weekly": ["w_2025_10"]}
    assert plan["pruned"] == {"daily": ["d_2025_01_03", "d_2025_01_02", "d_2025_01_01"],
                              "weekly": ["w_2025_02", "w_2025_01", "w_2024_52"]}  # fmt: skip
    assert len(plan["deleted"]) == 12 and s3.keys(BUCKET) == before
    r = scipipe(*args)
    assert r.code == 0, r.err
    assert "daily: kept 2, deleted 3" in r.err and "weekly: kept 1, deleted 3" in r.err
    assert f"deleted s3://{BUCKET}/stack/src/tags/d_2025_01_01.list" in r.out
    left = {k.rsplit("/", 1)[-1].removesuffix(".list") for k in s3.keys(BUCKET, "stack/src/tags/")}
    assert left == {"d_2025_01_30", "d_2025_01_10", "w_2025_10", *others}
    assert {k.rsplit("/", 1)[-1] for k in s3.keys(BUCKET, f"stack/{binary}/")} == {
        f"{t}.list" for t in left}  # fmt: skip
    assert "stack/src/env/d_2025_01_01.env" in s3.keys(BUCKET)  # only the lists go
    # again: nothing more to prune
    r = scipipe(*args, "--json")
    assert r.code == 0 and json.loads(r.out)["deleted"] == []


def test_prune_needs_a_rule(scipipe: Invoke, s3: S3Server) -> None:
    r = scipipe("distrib", "prune", "--to", f"s3://{BUCKET}/stack")
    assert r.code == 2 and "--keep-daily" in r.err
