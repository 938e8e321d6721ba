"""Regenerate the README's screenshots of the demo's changelog site and build timeline.

    PYTHONPATH=src python docs/screenshots.py [--work DIR] [--out docs]

It plays the README's release walkthrough on the bundled sample stack (offline, no conda
channel needed): ``scipipe demo init``, four weeklies (one per ``release-week-<k>.yaml``,
then ``release.yaml``), then official releases 29.0.0, 30.0.0.rc1 and 30.0.0; then it
takes headless-Chromium screenshots of the weekly changelog's latest page and of the last
release build's timeline.  Chromium: ``$SCIPIPE_CHROMIUM``, else ``chromium`` (Debian's
``apt-get install -y chromium``) or a Chrome on the PATH.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
TIMEOUT = 120  # seconds per command; a weekly takes a few seconds
WEEKLIES = (
    ("release-week-1.yaml", "2026-11-05"),
    ("release-week-2.yaml", "2026-11-12"),
    ("release-week-3.yaml", "2026-11-19"),
    ("release.yaml", "2026-11-26"),
)
#: (source refs, tag) of the demo's official releases, in order.
OFFICIALS = (("w.2026.45", "29.0.0"), ("w.2026.48", "v30.0.0.rc1"), ("v30.0.0.rc1", "30.0.0"))
#: What is photographed: (PNG name, page under the demo dir, window size).
SHOTS = (
    ("changelog-weekly.png", "release/changelog/html/w_2026_47.html", "1280,1000"),
    ("changelog-index.png", "release/changelog/html/index.html", "1280,520"),
    ("build-timeline.png", "release/timeline-w_2026_48.html", "1280,420"),
)


def find_chromium() -> str | None:
    explicit = os.environ.get("SCIPIPE_CHROMIUM")
    if explicit:
        return shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def scipipe(*args: str, cwd: Path) -> None:
    path = os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    for var in ("CONDA_EXE", "EUPS_PATH", "EUPS_PKGROOT"):
        env.pop(var, None)
    argv = [sys.executable, "-m", "scipipe_tools", *args]
    r = subprocess.run(  # noqa: S603
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({r.returncode}):\n{r.stderr[-3000:]}")


def make_demo(work: Path) -> Path:
    """The README's release walkthrough in ``work``; return the demo directory."""
    demo = work / "demo"
    work.mkdir(parents=True, exist_ok=True)
    scipipe("demo", "init", "--force", "--no-checkouts", "--no-channel", str(demo), cwd=work)
    for config, date in WEEKLIES:
        scipipe("release", "weekly", "--config", str(demo / config), "--date", date, cwd=work)
    # the last weekly's build (the officials' rebuilds find everything installed)
    shutil.copyfile(demo / "release/build/timeline.html", demo / "release/timeline-w_2026_48.html")
    for refs, tag in OFFICIALS:
        official = ("release", "official", "--config", str(demo / "official.yaml"))
        scipipe(*official, "--source-refs", refs, "--tag", tag, cwd=work)
    return demo


def chromium_run(chromium: str, profile: Path, *args: str) -> str:
    argv = [
        chromium, "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage",
        "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
        f"--user-data-dir={profile}", *args,
    ]  # fmt: skip
    r = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False)  # noqa: S603
    if r.returncode != 0:
        raise SystemExit(f"chromium failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return r.stdout


def dump_dom(chromium: str, profile: Path, page: Path) -> str:
    """The page's DOM after its scripts ran."""
    return chromium_run(chromium, profile, "--dump-dom", page.as_uri())


def screenshot(chromium: str, profile: Path, page: Path, png: Path, size: str) -> None:
    png.parent.mkdir(parents=True, exist_ok=True)
    chromium_run(chromium, profile, f"--screenshot={png}", f"--window-size={size}", page.as_uri())


def shoot(chromium: str, demo: Path, out: Path, profile: Path) -> list[Path]:
    written = []
    for name, page, size in SHOTS:
        screenshot(chromium, profile, demo / page, out / name, size)
        written.append(out / name)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, help="where to play the demo (default: a temporary dir)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs", help="where the PNGs go")
    args = ap.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("no Chromium found: set SCIPIPE_CHROMIUM or install Debian's chromium")
    with tempfile.TemporaryDirectory(prefix="scipipe-shots-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        demo = make_demo(work.resolve())
        for png in shoot(chromium, demo, args.out, Path(tmp) / "profile"):
            print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
