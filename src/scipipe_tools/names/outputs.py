"""The names of the files the commands write: one place to read them, one to change them.

A source build (``scipipe build run``) writes into its build directory::

    manifest.txt   status.yaml   status.json   junit.xml   timeline.html   durations.json
    logs/<product>.log           env/<build id>.json (the environment record)
    docs/<product>/ and logs/<product>.docs.log (with --docs)

and leaves ``ups/_build.log`` in each installed product.  A release flow writes
``results.json`` and ``<state dir>/<git tag>/state.json`` (with its ledger
``tag-release.jsonl`` and the manifest it published, ``manifest-<build id>.txt``); a
changelog is ``CHANGELOG.md`` or ``changelog.json``.
"""

from __future__ import annotations

from types import MappingProxyType

#: lsst_build's manifest of a build: what it installed, in order
MANIFEST = "manifest.txt"
#: lsst_build's status file, and ours beside it with every product's outcome
STATUS_YAML = "status.yaml"
STATUS_JSON = "status.json"
#: one test case per product, for a CI server
JUNIT = "junit.xml"
#: when each product built (self-contained HTML)
TIMELINE = "timeline.html"
#: earlier build times, which weigh the scheduler's priorities
DURATIONS = "durations.json"
#: the directory of the products' build logs
LOGS_DIR = "logs"
#: the directory of the build environment records, ``<build id>.json``
RECORDS_DIR = "env"
#: the products' documentation (``scipipe build --docs``): ``<product>/index.html``
DOCS_DIR = "docs"
#: a product's build log, kept in its installed ``ups/`` directory (lsst_build's)
BUILD_LOG = "_build.log"

#: a release flow's artifact (jenkins' results.json, plus step statuses)
RESULTS = "results.json"
#: a release flow's state, rewritten after every step
STATE = "state.json"
#: the tag ledger of a release flow, in its state directory
TAG_LEDGER = "tag-release.jsonl"

#: the one-file changelog formats: format -> file name in an output directory
CHANGELOG_FILES = MappingProxyType({"md": "CHANGELOG.md", "json": "changelog.json"})


def log_name(product: str) -> str:
    """``<product>.log``, in :data:`LOGS_DIR`."""
    return f"{product}.log"


def docs_log_name(product: str) -> str:
    """``<product>.docs.log``, in :data:`LOGS_DIR`: its ``--docs`` build's output."""
    return f"{product}.docs.log"


def record_name(build_id: str) -> str:
    """``<build id>.json``, in :data:`RECORDS_DIR`."""
    return f"{build_id}.json"


def published_manifest_name(build_id: str) -> str:
    """``manifest-<build id>.txt``: the manifest a release flow published."""
    return f"manifest-{build_id}.txt"


def tag_ledger_name(git_tag: str, build_id: str) -> str:
    """``tag-<git tag>-<build id>.jsonl``: ``scipipe release tag``'s default ledger."""
    return f"tag-{git_tag}-{build_id}.jsonl"
