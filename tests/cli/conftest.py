from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from scipipe_tools.cli.app import cli, run


@dataclass
class Outcome:
    code: int
    out: str
    err: str


Invoke = Callable[..., Outcome]


@pytest.fixture
def scipipe(capsys: pytest.CaptureFixture[str]) -> Invoke:
    """Run ``scipipe ARGS`` in-process through the real entry point's error boundary."""

    def invoke(*args: str) -> Outcome:
        code = run(cli, [str(a) for a in args], "scipipe")
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return invoke
