"""The exclusion map (lsstsw ``etc/exclusions.txt``): optional deps not to follow.

Each line is ``<dep-regex> <product-regex>``, both anchored at the start (``re.match``);
``#`` starts a comment.  It applies to optional dependencies only.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, Location

DEFAULT_TEXT = "cuda_toolkit .*\ncuda_sdk .*\ncondor .*\n"


@dataclass(frozen=True)
class Exclusions:
    rules: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = ()
    source: str = "<none>"

    def excludes(self, dep: str, product: str) -> bool:
        """Whether ``product``'s optional dependency on ``dep`` is dropped."""
        return any(d.match(dep) and p.match(product) for d, p in self.rules)


def parse_exclusions(text: str, path: str | Path = "exclusions.txt") -> Exclusions:
    rules = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        where = Location(str(path), lineno)
        if len(fields) != 2:
            raise InputError(
                f"expected '<dep-regex> <product-regex>', got {line!r}", location=where
            )
        try:
            with warnings.catch_warnings():  # re's FutureWarnings about odd sets
                warnings.simplefilter("ignore", FutureWarning)
                rules.append((re.compile(fields[0]), re.compile(fields[1])))
        except re.error as exc:
            raise InputError(f"bad regular expression: {exc}", location=where) from exc
    return Exclusions(tuple(rules), str(path))


#: lsstsw's default map, used when none is given.
DEFAULT = parse_exclusions(DEFAULT_TEXT, "<default exclusions>")
