"""Turn a :class:`~.model.ChangelogModel` into Markdown, RST pages, JSON or a static HTML site.

Templates are package data (``scipipe_tools/templates/changelog/``) rendered by jinja2 with
``StrictUndefined``; a user directory (``templates=``) overrides any of them, and the HTML
site's ``changelog.css`` / ``changelog.js``, by file name (:data:`TEMPLATE_NAMES`).

Rendering is pure (:func:`render_files` returns ``{file name: text}``); :func:`render` then
writes every file to a temporary sibling and only when all of them are written renames them
over the targets, so a template error or a full disk never replaces a good page with half a
page.  The directory formats keep a ``.scipipe-changelog`` list of the files they wrote and
remove the ones a later render no longer produces (an RC folded into its final, say); they
never touch other files.  Output is deterministic: the only time in it is the model's
``generated``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import textwrap
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, Location, ScipipeError, did_you_mean
from ..infra.files import new_file_mode
from ..names import outputs
from .model import FRAGMENT_TYPES, Change, ChangelogModel, Fragment, Release, Ticket

if TYPE_CHECKING:
    import jinja2

FORMATS = ("md", "rst", "json", "html")

#: the file a single-file format writes when ``out`` is a directory
DEFAULT_NAMES = outputs.CHANGELOG_FILES

#: every template (and static file) a user directory may override, by format
TEMPLATE_NAMES: dict[str, tuple[str, ...]] = {
    "md": ("changelog.md.j2",),
    "rst": ("index.rst.j2", "summary.rst.j2", "products.rst.j2", "release.rst.j2"),
    "html": ("base.html.j2", "index.html.j2", "release.html.j2", "changelog.css", "changelog.js"),
    "release-notes": ("release-notes.rst.j2",),
}

#: static files copied next to the HTML pages
HTML_ASSETS = ("changelog.css", "changelog.js")

#: section titles of the towncrier fragment types
FRAGMENT_TITLES = {
    "feature": "New features",
    "api": "API changes",
    "bugfix": "Bug fixes",
    "perf": "Performance enhancements",
    "removal": "Removals and deprecations",
    "misc": "Other changes and additions",
}

#: lists the files a directory render wrote, so the next render can drop stale ones
MANIFEST = ".scipipe-changelog"

#: the width the RST ticket tables wrap descriptions at
RST_DESCRIPTION_WIDTH = 60

_PACKAGE = "scipipe_tools"
_TEMPLATE_DIR = "templates/changelog"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_TICKET = re.compile(r"^([A-Za-z]+)-([0-9]+)$")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~])")
_RST_SPECIAL = re.compile(r"([\\`*_|])")
_BLANK_RUNS = re.compile(r"\n{3,}")


class TemplateError(InputError):
    """A changelog template does not parse or fails while rendering (exit code 2).

    The message is one line, ``<template>:<line>: <what>``: the template's path for one
    from a user directory, its name for a packaged one.
    """


# --- the public API ---------------------------------------------------------------------


def render(
    model: ChangelogModel, fmt: str, out: Path, *, templates: Path | None = None
) -> list[Path]:
    """Write ``model`` as ``fmt`` and return the files written, sorted.

    ``md`` and ``json`` write one file: ``out``, or ``out/CHANGELOG.md`` /
    ``out/changelog.json`` when ``out`` is a directory.  ``rst`` (``index.rst``,
    ``summary.rst``, ``products.rst``, ``<slug>.rst``) and ``html`` (``index.html``,
    ``<slug>.html``, ``changelog.css``, ``changelog.js``) write into the directory ``out``.
    Raises :class:`TemplateError` (nothing written) for a broken template.
    """
    files = render_files(model, fmt, templates=templates)
    out = Path(out)
    if fmt in DEFAULT_NAMES:
        target = out / DEFAULT_NAMES[fmt] if out.is_dir() else out
        (text,) = files.values()
        return _commit(target.parent, {target.name: text}, manifest=False)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: not a directory (the {fmt} output is a directory of pages)")
    return _commit(out, files, manifest=True)


def render_files(
    model: ChangelogModel, fmt: str, *, templates: Path | None = None
) -> dict[str, str]:
    """The files ``fmt`` makes of ``model``, ``{file name: text}``, without writing them."""
    if fmt not in FORMATS:
        raise InputError(f"unknown changelog format {fmt!r}", hint=did_you_mean(fmt, FORMATS))
    seen: dict[str, str] = {}
    for release in model.releases:
        _check_slug(release)
        if release.slug in seen:
            raise InputError(
                f"releases {seen[release.slug]!r} and {release.name!r} share the page "
                f"{release.slug!r}"
            )
        seen[release.slug] = release.name
    if fmt == "json":
        text = json.dumps(model.to_json(), sort_keys=True, indent=2, ensure_ascii=False)
        return {DEFAULT_NAMES["json"]: text + "\n"}
    renderer = _Renderer(model, templates)
    if fmt == "md":
        return {DEFAULT_NAMES["md"]: _tidy(renderer.render("changelog.md.j2"))}
    if fmt == "rst":
        files = {
            "index.rst": renderer.render("index.rst.j2"),
            "summary.rst": renderer.render("summary.rst.j2"),
            "products.rst": renderer.render("products.rst.j2"),
        }
        for release in model.releases:
            files[f"{release.slug}.rst"] = renderer.render("release.rst.j2", release=release)
        return {name: _tidy(text) for name, text in files.items()}
    files = {"index.html": renderer.render("index.html.j2")}
    for release in model.releases:
        files[f"{release.slug}.html"] = renderer.render("release.html.j2", release=release)
    for asset in HTML_ASSETS:
        files[asset] = renderer.asset(asset)
    return files


def release_notes_rst(
    release: Release,
    *,
    templates: Path | None = None,
    repo_urls: dict[str, str] | None = None,
) -> str:
    """The pipelines_lsst_io ``releases/tickets/<eups>.rst`` page of ``release``.

    A ``Tickets Addressed in Release X.Y.Z`` title, then one
    ``- :jira:`DM-N`: Summary [pkg1, pkg2]`` line per ticket, sorted by ticket; package
    names lose a ``legacy-`` prefix, tickets that touch only ``lsst`` are left out, and a
    ticket without a summary shows its key.
    """
    model = ChangelogModel(title="", releases=[release], repo_urls=dict(repo_urls or {}))
    renderer = _Renderer(model, templates)
    notes: list[dict[str, Any]] = []
    for ticket in sorted(release.tickets, key=lambda t: ticket_sort_key(t.key)):
        packages = sorted({p.removeprefix("legacy-") for p in _ticket_products(ticket)})
        if packages == ["lsst"]:
            continue
        notes.append(
            {
                "key": ticket.key,
                "summary": ticket.summary or ticket.key,
                "packages": packages,
                "ticket": ticket,
            }
        )
    text = renderer.render(
        "release-notes.rst.j2",
        release=release,
        version=release_version(release),
        notes=notes,
    )
    return _tidy(text)


def release_notes_name(release: Release) -> str:
    """The release-notes file name of ``release`` in pipelines_lsst_io (``v29_1_0.rst``)."""
    _check_slug(release, release.eups)
    return f"{release.eups}.rst"


def release_version(release: Release) -> str:
    """``29.1.0`` for a release named ``29.1.0``, ``v29.1.0`` or ``v29_1_0``."""
    name = release.name
    if len(name) > 1 and name[0] == "v" and "0" <= name[1] <= "9":
        name = name[1:]
    return name.replace("_", ".") if "0" <= name[:1] <= "9" else name


def ticket_sort_key(key: str) -> tuple[str, int, str]:
    """Tickets in numeric order: ``DM-9`` before ``DM-10``."""
    found = _TICKET.match(key)
    if found is None:
        return (key, 0, key)
    return (found.group(1).upper(), int(found.group(2)), key)


# --- escaping and layout helpers (template filters) ---------------------------------------


def md_escape(text: object) -> str:
    """Inline Markdown text with its markup characters backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def rst_escape(text: object) -> str:
    """Inline RST text with ``*``, ``_``, backticks, ``|`` and backslashes escaped."""
    return _RST_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def rst_heading(text: str, char: str = "-", *, over: bool = False) -> str:
    """``text`` under (and with ``over``, also over) a line of ``char``."""
    line = char * max(len(text), 1)
    return f"{line}\n{text}\n{line}" if over else f"{text}\n{line}"


def rst_link(text: str, url: str | None) -> str:
    """An anonymous RST hyperlink, or plain escaped text without a URL."""
    if not url:
        return rst_escape(text)
    label = str(text).replace("\\", "\\\\").replace("`", "\\`").replace("<", "\\<")
    return f"`{label} <{url}>`__"


def wrap(text: str, width: int) -> str:
    """``text`` wrapped at ``width`` on spaces only (escapes and URLs stay whole)."""
    lines = textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False)
    return "\n".join(lines)


def grid_table(header: Sequence[str], rows: Iterable[Sequence[str]], indent: int = 3) -> str:
    """An RST grid table; a cell's ``\\n`` starts a new line in the same cell."""
    table = [[str(cell).split("\n") for cell in header]]
    table += [[str(cell).split("\n") for cell in row] for row in rows]
    ncols = len(header)
    widths = [max(1, *(len(line) for row in table for line in row[i])) for i in range(ncols)]
    pad = " " * indent

    def rule(char: str) -> str:
        return pad + "+" + "+".join(char * (w + 2) for w in widths) + "+"

    out = [rule("-")]
    for index, row in enumerate(table):
        height = max(len(cell) for cell in row)
        for n in range(height):
            cells = [
                (cell[n] if n < len(cell) else "").ljust(w)
                for cell, w in zip(row, widths, strict=True)
            ]
            out.append(pad + "| " + " | ".join(cells) + " |")
        out.append(rule("=" if index == 0 else "-"))
    return "\n".join(out)


# --- rendering ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Link:
    text: str
    url: str | None


class _Renderer:
    """A jinja2 environment over the packaged templates and an optional user directory."""

    def __init__(self, model: ChangelogModel, templates: Path | None) -> None:
        import jinja2  # deferred: heavy

        if templates is not None and not Path(templates).is_dir():
            raise InputError(f"{templates}: template directory not found")
        self.model = model
        self.user_dir = Path(templates) if templates is not None else None
        #: a compiled template's file name -> how an error message names it
        self.names: dict[str, str] = {}
        #: the same for the user directory's templates (their paths)
        self.user_names: dict[str, str] = {}
        loaders: list[jinja2.BaseLoader] = []
        if self.user_dir is not None:
            loaders.append(_user_loader(self.user_dir, self.user_names))
        loaders.append(jinja2.FunctionLoader(self._packaged))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            autoescape=_autoescape,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.do"],
        )
        self.env.filters.update(
            md=md_escape,
            rst=rst_escape,
            rst_heading=rst_heading,
            rst_link=rst_link,
            wrap=wrap,
            short=lambda sha: str(sha)[:10],
            product_name=lambda name: str(name).removeprefix("legacy-"),
        )
        self.env.globals.update(
            model=model,
            title=model.title,
            generated=model.generated,
            releases=model.releases,
            repo_urls=model.repo_urls,
            fragment_types=FRAGMENT_TYPES,
            fragment_titles=FRAGMENT_TITLES,
            description_width=RST_DESCRIPTION_WIDTH,
            grid_table=grid_table,
            ticket_sort=_ticket_sort_text,
            ticket_links=self.ticket_links,
            change_url=self.change_url,
            repo_url=lambda product: model.repo_urls.get(product),
            release_slug=self.release_slug,
            fragments_by_type=fragments_by_type,
            all_products=self.all_products,
            zip_longest=zip_longest,
        )

    def _packaged(self, name: str) -> tuple[str, str, Callable[[], bool]] | None:
        source = _packaged_file(name)
        if source is None:
            return None
        filename = f"<{_PACKAGE}>/{_TEMPLATE_DIR}/{name}"
        self.names[filename] = name
        return source, filename, lambda: True

    def render(self, name: str, **context: Any) -> str:
        import jinja2  # deferred: heavy

        try:
            return self.env.get_template(name).render(**context)
        except jinja2.TemplateSyntaxError as exc:
            where = self._name(exc.filename) or exc.name or name
            raise self._error(where, exc.lineno, exc.message or str(exc)) from exc
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template not found: {exc.name}") from exc
        except Exception as exc:
            where, line = name, None
            for frame in traceback.extract_tb(exc.__traceback__):
                found = self._name(frame.filename)
                if found is not None:
                    where, line = found, frame.lineno
            message = " ".join(str(exc).split()) or type(exc).__name__
            raise self._error(where, line, message) from exc

    def _name(self, filename: str | None) -> str | None:
        if filename is None:
            return None
        return self.user_names.get(filename) or self.names.get(filename)

    def _error(self, where: str, line: int | None, message: str) -> TemplateError:
        from_user = where in self.user_names.values()
        hint = None if from_user else "a packaged template failed: please report this bug"
        return TemplateError(message, hint=hint, location=Location(where, line))

    def asset(self, name: str) -> str:
        if self.user_dir is not None and (self.user_dir / name).is_file():
            return (self.user_dir / name).read_text(encoding="utf-8")
        source = _packaged_file(name)
        if source is None:
            raise TemplateError(f"template not found: {name}")
        return source

    # helpers the templates call

    def ticket_links(self, ticket: Ticket) -> list[_Link]:
        """The ticket's products, each linked to its pull requests or else its repo."""
        links: list[_Link] = []
        linked: set[str] = set()
        for change in sorted(ticket.changes, key=lambda c: (c.product, c.pr or 0, c.sha)):
            if change.pr_url:
                text = change.product if change.pr is None else f"{change.product}#{change.pr}"
                link = _Link(text, change.pr_url)
            else:
                link = _Link(change.product, self.model.repo_urls.get(change.product))
            linked.add(change.product)
            if link not in links:
                links.append(link)
        for product in sorted(set(ticket.products) - linked):
            links.append(_Link(product, self.model.repo_urls.get(product)))
        return links

    def change_url(self, change: Change) -> str | None:
        if change.pr_url:
            return change.pr_url
        repo = self.model.repo_urls.get(change.product)
        return f"{repo.rstrip('/')}/commit/{change.sha}" if repo else None

    def release_slug(self, name: str | None) -> str | None:
        if not name:
            return None
        try:
            return self.model.release(name).slug
        except KeyError:
            return None

    def all_products(self) -> list[str]:
        names: set[str] = set()
        for release in self.model.releases:
            names.update(release.products, release.added, release.removed)
        return sorted(names, key=lambda n: (n.lower(), n))


def fragments_by_type(release: Release) -> list[tuple[str, str, list[Fragment]]]:
    """The release's fragments as ``(type, title, fragments)``, in the release-notes order."""
    groups: dict[str, list[Fragment]] = {}
    for ticket in release.tickets:
        for fragment in ticket.fragments:
            groups.setdefault(fragment.type, []).append(fragment)
    order = [t for t in FRAGMENT_TYPES if t in groups]
    order += sorted(set(groups) - set(FRAGMENT_TYPES))
    return [
        (
            kind,
            FRAGMENT_TITLES.get(kind, kind),
            sorted(groups[kind], key=lambda f: (ticket_sort_key(f.ticket), f.product, f.path)),
        )
        for kind in order
    ]


def _ticket_products(ticket: Ticket) -> list[str]:
    return list(ticket.products) or sorted({c.product for c in ticket.changes})


def _ticket_sort_text(key: str) -> str:
    """A sort key that sorts as text: ``DM-000000031824``."""
    project, number, _ = ticket_sort_key(key)
    return f"{project}-{number:012d}" if _TICKET.match(key) else key


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith((".html.j2", ".html"))


def _packaged_file(name: str) -> str | None:
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    entry = resources.files(_PACKAGE).joinpath(_TEMPLATE_DIR).joinpath(name)
    if not entry.is_file():
        return None
    return entry.read_text(encoding="utf-8")


def _user_loader(directory: Path, names: dict[str, str]) -> jinja2.BaseLoader:
    """A FileSystemLoader that records each template's path for error messages."""
    import jinja2  # deferred: heavy

    class Loader(jinja2.FileSystemLoader):
        def get_source(
            self, environment: jinja2.Environment, template: str
        ) -> tuple[str, str, Callable[[], bool]]:
            source, filename, uptodate = super().get_source(environment, template)
            names[filename] = filename
            return source, filename, uptodate

    return Loader(str(directory))


def _check_slug(release: Release, name: str | None = None) -> None:
    name = release.slug if name is None else name
    if not _SAFE_NAME.match(name) or name in ("index", "summary", "products"):
        raise InputError(f"release {release.name!r}: {name!r} cannot name a changelog page")


def _tidy(text: str) -> str:
    """At most one blank line in a row, and one newline at the end."""
    return _BLANK_RUNS.sub("\n\n", text).strip("\n") + "\n"


# --- atomic output ---------------------------------------------------------------------


def _commit(directory: Path, files: dict[str, str], *, manifest: bool) -> list[Path]:
    """Write every file to a temporary sibling, then rename them all over their targets."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScipipeError(f"cannot create {directory}: {exc.strerror or exc}") from exc
    old = _read_manifest(directory) if manifest else set()
    contents = dict(files)
    if manifest:
        contents[MANIFEST] = "".join(f"{name}\n" for name in sorted(files))
    staged: list[tuple[str, Path]] = []
    try:
        for name, text in sorted(contents.items()):
            target = directory / name
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
            staged.append((tmp, target))
            os.fchmod(fd, new_file_mode(target))
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
    except BaseException as exc:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ScipipeError(f"cannot write {directory}: {exc.strerror or exc}") from exc
        raise
    for tmp, target in staged:
        os.replace(tmp, target)
    for name in sorted(old - set(files)):
        (directory / name).unlink(missing_ok=True)
    return sorted(directory / name for name in files)


def _read_manifest(directory: Path) -> set[str]:
    try:
        lines = (directory / MANIFEST).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return set()
    # only plain names of this directory: a doctored list cannot reach elsewhere
    return {line for line in lines if _SAFE_NAME.match(line) and line != MANIFEST}
