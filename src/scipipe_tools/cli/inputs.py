"""Reading what the shared options name: the exclusion map, the EUPS stack."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError
from ..eups.exclusions import DEFAULT as DEFAULT_EXCLUSIONS
from ..eups.exclusions import Exclusions
from ..eups.flavor import current_flavor
from ..stack.readers import read_exclusions
from ..stack.stack import Stack


def exclusions(path: Path | None) -> Exclusions:
    """``--exclusion-map``'s file, else the default exclusions."""
    return read_exclusions(path) if path else DEFAULT_EXCLUSIONS


def stack_path(stack_dir: Path | None) -> Path:
    """``--stack``, else the first entry of ``$EUPS_PATH`` (it need not exist yet)."""
    if stack_dir is not None:
        return stack_dir
    first = os.environ.get("EUPS_PATH", "").split(":")[0]
    if not first:
        raise InputError("no stack given", hint="pass --stack DIR or set EUPS_PATH")
    return Path(first)


def open_stack(stack_dir: Path | None, flavor: str | None) -> Stack:
    """``--stack``, else the first entry of ``$EUPS_PATH``; it must be a stack."""
    return Stack.open(stack_path(stack_dir), flavor or current_flavor())
