"""What a finished build reports: status files, JUnit XML, a summary table, a timeline.

- ``status.yaml`` is lsst_build's file, for the tools that read it: ``built:`` lists the
  installed products (``name``, ``sha1``, ``version`` mappings) and ``failed_at:`` names
  the first failure.
- ``status.json`` is ours: every product with its outcome, times, log and log tail.
- ``junit.xml`` lets a CI server show one test case per product.
- ``timeline.html`` draws when each product built (self-contained: inline SVG, no JS).

Reports are expected in manifest order; the files follow it, so the same outcome always
gives the same files.  Everything is written atomically.
"""

from __future__ import annotations

import html
import json
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import yamlfile
from ..infra.files import write_atomic
from ..names import outputs
from . import _svg

BUILT = "built"
INSTALLED_BINARY = "installed-binary"
FROM_CACHE = "from-cache"
ALREADY_INSTALLED = "already-installed"
FAILED = "failed"
SKIPPED = "skipped"
NOT_RUN = "not-run"
#: every product status, in the order summaries list them
STATUSES = (BUILT, INSTALLED_BINARY, FROM_CACHE, ALREADY_INSTALLED, FAILED, SKIPPED, NOT_RUN)
#: the statuses of a product that is installed at the end of the build
OK_STATUSES = frozenset({BUILT, INSTALLED_BINARY, FROM_CACHE, ALREADY_INSTALLED})

#: log lines kept for a failure (lsst_build showed 10)
TAIL_LINES = 20
#: lsst_build's prefix for the lines of a failure's log tail
TAIL_PREFIX = ":::::  "
SCHEMA_VERSION = 1

_LABELS = {
    BUILT: "built",
    INSTALLED_BINARY: "installed from binaries",
    FROM_CACHE: "installed from the cache",
    ALREADY_INSTALLED: "already installed",
    FAILED: "failed",
    SKIPPED: "skipped",
    NOT_RUN: "not run",
}
COLOURS = {
    BUILT: "#2e7d32",
    INSTALLED_BINARY: "#1565c0",
    FROM_CACHE: "#00838f",
    ALREADY_INSTALLED: "#9e9e9e",
    FAILED: "#c62828",
    SKIPPED: "#ef6c00",
    NOT_RUN: "#78909c",
}


@dataclass
class ProductReport:
    name: str
    version: str
    #: one of :data:`STATUSES`
    status: str
    #: ``time.time()`` when its work started and ended; None when it never ran
    started: float | None = None
    ended: float | None = None
    log: Path | None = None
    #: the last :data:`TAIL_LINES` lines of the log, for a failure
    tail: list[str] = field(default_factory=list)
    #: how it was installed, the error message, or why it was skipped
    detail: str = ""
    #: the git SHA-1 it was built from (lsst_build writes it to status.yaml)
    sha1: str | None = None
    #: the EUPS integration its build steps had (``real (EUPS_DIR=...)``, ``none``)
    eups: str | None = None
    #: it failed because its build steps ran out of time (``--timeout``/``--total-timeout``)
    timed_out: bool = False

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"{self.name}: unknown status {self.status!r}")

    @property
    def seconds(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return max(0.0, self.ended - self.started)


def counts(reports: Sequence[ProductReport]) -> dict[str, int]:
    """How many products ended in each status (every status, zeros included)."""
    out = dict.fromkeys(STATUSES, 0)
    for r in reports:
        out[r.status] += 1
    return out


def counts_line(reports: Sequence[ProductReport]) -> str:
    """``12 built, 3 already installed, 1 failed, 2 skipped``."""
    parts = [f"{n} {_LABELS[s]}" for s, n in counts(reports).items() if n]
    return ", ".join(parts) if parts else "no products"


def first_failure(reports: Sequence[ProductReport]) -> ProductReport | None:
    """The first failed product in manifest order: where lsst_build would have stopped."""
    return next((r for r in reports if r.status == FAILED), None)


# -- status.yaml and status.json --------------------------------------------------------


def write_status(
    build_dir: Path,
    build_id: str | None,
    reports: Sequence[ProductReport],
    *,
    environment: Mapping[str, object] | None = None,
) -> tuple[Path, Path]:
    """Write ``build_dir/status.yaml`` (lsst_build's) and ``build_dir/status.json``.

    lsst_build's ``built:`` held the products installed before it stopped; we keep
    going, so it holds every installed product (built, from a binary, or already
    there), in manifest order.  ``failed_at:`` is the first failed product in manifest
    order, or null.
    """
    yaml_path = build_dir / outputs.STATUS_YAML
    json_path = build_dir / outputs.STATUS_JSON
    failed = first_failure(reports)
    status: dict[str, Any] = {
        "built": [_ident(r) for r in reports if r.status in OK_STATUSES],
        "failed_at": _ident(failed) if failed else None,
    }
    header = (
        "# Build status in lsst_build's format, written by scipipe_tools.sourcebuild.report"
        f" for build {build_id or '(no build id)'}.\n"
        "# Every product's outcome, times and log tail are in status.json beside it.\n"
    )
    write_atomic(yaml_path, header + yamlfile.dump(status))
    text = json.dumps(status_json(build_id, reports, environment), indent=2, sort_keys=True)
    write_atomic(json_path, text + "\n")
    return yaml_path, json_path


def status_json(
    build_id: str | None,
    reports: Sequence[ProductReport],
    environment: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """The content of ``status.json`` (``environment``: the one the build ran in)."""
    failed = first_failure(reports)
    started = [r.started for r in reports if r.started is not None]
    ended = [r.ended for r in reports if r.ended is not None]
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": "scipipe_tools.sourcebuild.report.write_status",
        "build_id": build_id,
        "ok": all(r.status in OK_STATUSES for r in reports),
        "counts": counts(reports),
        "failed_at": _ident(failed) if failed else None,
        "started": min(started, default=None),
        "ended": max(ended, default=None),
        "seconds": max(ended) - min(started) if started and ended else None,
        "environment": dict(environment) if environment is not None else None,
        "products": [
            {
                "name": r.name,
                "version": r.version,
                "sha1": r.sha1,
                "status": r.status,
                "detail": r.detail,
                "started": r.started,
                "ended": r.ended,
                "seconds": r.seconds,
                "log": os.fspath(r.log) if r.log is not None else None,
                "tail": list(r.tail),
                "eups": r.eups,
                "timed_out": r.timed_out,
            }
            for r in reports
        ],
    }


def _ident(r: ProductReport) -> dict[str, str]:
    out = {"name": r.name, "version": r.version}
    if r.sha1 is not None:
        out["sha1"] = r.sha1
    return out


# -- JUnit --------------------------------------------------------------------------------


def write_junit(path: Path, reports: Sequence[ProductReport], suite: str = "scipipe-build") -> None:
    """One JUnit test case per product: passed, ``<failure>`` or ``<skipped>``."""
    write_atomic(path, render_junit(reports, suite))


def render_junit(reports: Sequence[ProductReport], suite: str = "scipipe-build") -> str:
    n = counts(reports)
    total = sum(_junit_time(r) for r in reports)
    root = ET.Element(
        "testsuite",
        {
            "name": _svg.clean(suite),
            "tests": str(len(reports)),
            "failures": str(n[FAILED]),
            "errors": "0",
            "skipped": str(n[SKIPPED] + n[NOT_RUN]),
            "time": f"{total:.3f}",
        },
    )
    for r in reports:
        case = _svg.sub(
            root, "testcase", classname="build", name=r.name, time=f"{_junit_time(r):.3f}"
        )
        if r.status == FAILED:
            message = r.detail.splitlines()[0] if r.detail.strip() else "build failed"
            kind = "BuildTimeout" if r.timed_out else "BuildFailure"
            failure = _svg.sub(case, "failure", message=message, type=kind)
            failure.text = _svg.clean(_failure_text(r))
        elif r.status in (SKIPPED, NOT_RUN):
            _svg.sub(case, "skipped", message=r.detail or _LABELS[r.status])
        out = [f"{r.name} {r.version}: {r.status}"]
        if r.detail and r.status != FAILED:
            out.append(r.detail)
        if r.log is not None:
            out.append(f"log: {os.fspath(r.log)}")
        _svg.sub(case, "system-out", "\n".join(out))
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _junit_time(r: ProductReport) -> float:
    if r.status == ALREADY_INSTALLED:
        return 0.0
    return r.seconds or 0.0


def _failure_text(r: ProductReport) -> str:
    lines = [r.detail] if r.detail else []
    if r.log is not None:
        lines.append(f"log: {os.fspath(r.log)}")
    if r.tail:
        lines.append(f"last {len(r.tail[-TAIL_LINES:])} lines:")
        lines += r.tail[-TAIL_LINES:]
    return "\n".join(lines)


# -- text ----------------------------------------------------------------------------------


def summary_table(reports: Sequence[ProductReport]) -> str:
    """An aligned table (product, version, status, seconds) and a counts line."""
    header = ("product", "version", "status", "seconds")
    rows = [
        (r.name, r.version, r.status, f"{r.seconds:.1f}" if r.seconds is not None else "-")
        for r in reports
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]

    def line(row: tuple[str, str, str, str]) -> str:
        cells = [row[i].ljust(widths[i]) for i in range(3)] + [row[3].rjust(widths[3])]
        return "  ".join(cells).rstrip()

    return "\n".join([line(header), *(line(row) for row in rows), counts_line(reports)]) + "\n"


def format_failure(report: ProductReport) -> str:
    """lsst_build's failure message, with a longer tail."""
    lines = [f"*** error building product {report.name}."]
    lines += [f"*** {text}" for text in report.detail.splitlines()[:5]]
    if report.log is not None:
        lines.append(f"*** log is in {os.fspath(report.log)}")
    tail = report.tail[-TAIL_LINES:]
    if tail:
        lines.append(f"*** last {len(tail)} lines:")
        lines += [TAIL_PREFIX + text for text in tail]
    return "\n".join(lines) + "\n"


def read_tail(path: Path, lines: int = TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of a (possibly huge) log, reading only its end."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            chunk = 8192
            while True:
                start = max(0, size - chunk)
                fh.seek(start)
                data = fh.read()
                if start == 0 or data.count(b"\n") > lines:
                    break
                chunk *= 4
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace").splitlines()
    if start > 0:
        text = text[1:]  # the first line is cut
    return text[-lines:]


# -- timeline ------------------------------------------------------------------------------

_ROW = 18
_BAR = 12
_FONT = 12
_PLOT_WIDTH = 900.0
_TOP = 34


def write_timeline(path: Path, reports: Sequence[ProductReport], title: str) -> None:
    write_atomic(path, render_timeline(reports, title))


def render_timeline(reports: Sequence[ProductReport], title: str) -> str:
    """A self-contained HTML page: one bar per product from its start to its end.

    Products that never ran (skipped, not run) get a marker past the end of the axis.
    Every bar has a hover title with its times and detail.
    """
    page_title = html.escape(_svg.clean(title))
    summary = html.escape(counts_line(reports))
    started = [r.started for r in reports if r.started is not None]
    ended = [r.ended for r in reports if r.ended is not None]
    t0 = min(started, default=0.0)
    span = max(max(ended, default=t0) - t0, 1e-3)
    if started and ended:
        summary += html.escape(f"; {span:.1f} s from the first start to the last end")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "<!-- Generated by scipipe_tools.sourcebuild.report.render_timeline from the build's"
        " results. -->\n"
        "<head>\n"
        '<meta charset="utf-8">\n'
        f"<title>{page_title}</title>\n"
        "<style>\n"
        "body { font-family: sans-serif; margin: 1em 2em; }\n"
        "h1 { font-size: 1.3em; }\n"
        "svg text { font-family: sans-serif; }\n"
        ".bar:hover { stroke: #000; stroke-width: 1.5; }\n"
        "</style>\n"
        "</head>\n"
        "<body>\n"
        f"<h1>{page_title}</h1>\n"
        f"<p>{summary}</p>\n"
        f"{_timeline_svg(reports, t0, span)}\n"
        "</body>\n"
        "</html>\n"
    )


def _timeline_svg(reports: Sequence[ProductReport], t0: float, span: float) -> str:
    label_width = min(320.0, max((_svg.text_width(r.name, _FONT) for r in reports), default=60))
    left = label_width + 16
    scale = _PLOT_WIDTH / span
    end_x = left + _PLOT_WIDTH
    marker_x = end_x + 10
    width = marker_x + 90
    height = _TOP + _ROW * len(reports) + 40
    root = _svg.svg(width, height, class_="timeline")

    # legend
    x = 0.0
    for status in STATUSES:
        _svg.sub(root, "rect", x=x, y=4, width=10, height=10, fill=COLOURS[status])
        label = _LABELS[status]
        _svg.sub(root, "text", label, x=x + 14, y=13, font_size=11)
        x += 14 + _svg.text_width(label, 11) + 16

    # time axis: grid lines, tick labels at the bottom
    axis_y = _TOP + _ROW * len(reports) + 4
    step = _svg.nice_step(span)
    grid = _svg.sub(root, "g", class_="axis", stroke="#ddd")
    labels = _svg.sub(root, "g", class_="ticks", font_size=10, text_anchor="middle")
    k = 0
    while k * step <= span + 1e-9:
        tx = left + k * step * scale
        _svg.sub(grid, "line", x1=tx, y1=_TOP - 4, x2=tx, y2=axis_y)
        _svg.sub(labels, "text", _tick(k * step, step), x=tx, y=axis_y + 14)
        k += 1
    _svg.sub(root, "text", "seconds", x=left + _PLOT_WIDTH / 2, y=axis_y + 30, font_size=11,
             text_anchor="middle")  # fmt: skip

    ordered = sorted(
        enumerate(reports),
        key=lambda ir: (ir[1].started is None, ir[1].started or 0.0, ir[0]),
    )
    rows = _svg.sub(root, "g", class_="rows", font_size=_FONT)
    for row, (_, r) in enumerate(ordered):
        y = _TOP + row * _ROW
        _svg.sub(rows, "text", r.name, x=label_width + 8, y=y + _BAR - 1, text_anchor="end")
        attrs: dict[str, str | float] = {"class_": f"bar {r.status}", "fill": COLOURS[r.status]}
        if r.started is not None and r.ended is not None:
            bx = left + (r.started - t0) * scale
            bw = max(1.0, (r.ended - r.started) * scale)
            bar = _svg.sub(rows, "rect", x=bx, y=y, width=bw, height=_BAR, **attrs)
        else:  # never ran: a marker past the end of the axis
            mx = marker_x if r.status in (SKIPPED, NOT_RUN, FAILED) else left
            bar = _svg.sub(rows, "rect", x=mx, y=y, width=_BAR, height=_BAR, **attrs)
            if r.status in (SKIPPED, NOT_RUN):
                _svg.sub(rows, "text", _LABELS[r.status], x=mx + _BAR + 4, y=y + _BAR - 1,
                         font_size=10, fill=COLOURS[r.status])  # fmt: skip
        _svg.sub(bar, "title", _hover(r, t0))
    return _svg.to_string(root)


def _tick(value: float, step: float) -> str:
    return f"{value:.{max(0, -math.floor(math.log10(step)))}f}"


def _hover(r: ProductReport, t0: float) -> str:
    head = f"{r.name} {r.version}: {_LABELS[r.status]}"
    if r.started is not None and r.ended is not None:
        head += f", {r.ended - r.started:.1f} s (+{r.started - t0:.1f} s to +{r.ended - t0:.1f} s)"
    return head + (f"\n{r.detail}" if r.detail else "")
