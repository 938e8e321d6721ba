"""Real stand-ins for the image tests: a base image made offline, a registry on 127.0.0.1.

- :func:`host_rootfs`: a minimal root filesystem from this machine's own files (bash,
  coreutils, sed, python3 and its standard library, and the shared libraries ``ldd``
  lists), with the merged-/usr links Debian has.  Any base the test can build offline.
- :func:`pack_layout`: a root filesystem as a one-layer OCI image layout, written with
  tarfile and json here (not with the code under test).
- :class:`Registry`: Debian's ``docker-registry`` (the distribution registry) serving a
  temporary storage directory on a free port of 127.0.0.1.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType

PROGRAMS = ("bash", "sh", "env", "cat", "ls", "mkdir", "rm", "sed", "grep", "uname", "id",
            "dirname", "basename", "tr", "head", "true", "python3")  # fmt: skip
#: the standard library without what no smoke test imports (and most of its bytes)
STDLIB_SKIP = {"test", "idlelib", "tkinter", "ensurepip", "lib2to3", "pydoc_data", "turtledemo",
               "__pycache__", "config-3.11-x86_64-linux-gnu", "distutils", "site-packages",
               "dist-packages"}  # fmt: skip


def _copy(src: Path, root: Path) -> None:
    # through the directory's real path: /lib is a link to usr/lib, here and in the root
    src = src.parent.resolve() / src.name
    dest = root / str(src).lstrip("/")
    if dest.exists() or dest.is_symlink():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_symlink():
        target = src.readlink()
        dest.symlink_to(target)
        _copy((src.parent / target).resolve() if not target.is_absolute() else target, root)
    else:
        shutil.copy2(src, dest)


def _libraries(binary: Path) -> list[Path]:
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False).stdout
    found = []
    for line in out.splitlines():
        parts = line.split()
        for p in parts:
            if p.startswith("/"):
                found.append(Path(p))
    return found


def host_rootfs(root: Path) -> Path:
    """Copy the programs, their libraries and Python's standard library under ``root``."""
    root.mkdir(parents=True)
    for link in ("bin", "lib", "lib64", "sbin"):  # Debian's merged /usr
        if Path("/" + link).is_symlink():
            (root / link).symlink_to(Path("/" + link).readlink())
    for name in PROGRAMS:
        path = Path("/usr/bin") / name
        _copy(path, root)
        for lib in _libraries(path.resolve()):
            _copy(lib, root)
    stdlib = Path("/usr/lib/python3.11")
    for src in sorted(stdlib.rglob("*")):
        rel = src.relative_to(stdlib)
        if set(rel.parts) & STDLIB_SKIP or src.is_dir():
            continue
        _copy(src, root)
        if src.suffix == ".so":
            for lib in _libraries(src):
                _copy(lib, root)
    for d in ("tmp", "etc", "root", "dev", "proc"):
        (root / d).mkdir(exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    return root


def _tar_gz(root: Path) -> tuple[bytes, str]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(root.rglob("*")):
            info = tar.gettarinfo(str(path), str(path.relative_to(root)))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "root", "root"
            if info.isreg():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0), "sha256:" + hashlib.sha256(raw).hexdigest()


def _blob(layout: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def pack_layout(rootfs: Path, layout: Path, tag: str = "base") -> Path:
    """``rootfs`` as the image tagged ``tag`` in a new OCI layout at ``layout``."""
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    layer, diff_id = _tar_gz(rootfs)
    layer_desc = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                  **_blob(layout, layer)}  # fmt: skip
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"]},
              "rootfs": {"type": "layers", "diff_ids": [diff_id]},
              "history": [{"created_by": "tests/support/ociimage.py host_rootfs"}]}  # fmt: skip
    config_desc = {"mediaType": "application/vnd.oci.image.config.v1+json",
                   **_blob(layout, json.dumps(config).encode())}  # fmt: skip
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config_desc, "layers": [layer_desc]}  # fmt: skip
    m_desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
              **_blob(layout, json.dumps(manifest).encode()),
              "annotations": {"org.opencontainers.image.ref.name": tag}}  # fmt: skip
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [m_desc]}))
    return layout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


CONFIG = """\
version: 0.1
log: {{level: error}}
storage:
  filesystem: {{rootdirectory: {storage}}}
  delete: {{enabled: true}}
http:
  addr: 127.0.0.1:{port}
"""


class Registry:
    """``docker-registry serve`` on 127.0.0.1 with its storage under ``work``."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> Registry:
        config = self.work / "registry.yml"
        (self.work / "storage").mkdir(parents=True, exist_ok=True)
        config.write_text(CONFIG.format(storage=self.work / "storage", port=self.port))
        log = open(self.work / "registry.log", "wb")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        self._log = log
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(
            f"docker-registry did not start: {(self.work / 'registry.log').read_text()}"
        )

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        self._log.close()

    def tags(self, repo: str) -> list[str]:
        with urllib.request.urlopen(f"http://{self.host}/v2/{repo}/tags/list", timeout=10) as r:
            data = json.loads(r.read())
        return sorted(data.get("tags") or [])
