"""A tiny stand-in for lsst.pipe.base: tasks with a config and a run method."""

from __future__ import annotations

from typing import Any

import lsst_log
from lsst_daf_base import PropertySet
from lsst_pex_config import Config

__all__ = ["Task"]


class Task:
    """Subclasses set ``ConfigClass`` and ``_DefaultName`` and implement ``run``."""

    ConfigClass: type[Config] = Config
    _DefaultName = "task"

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or self.ConfigClass()
        self.log = lsst_log.get_logger(self._DefaultName)
        self.metadata = PropertySet()

    def run(self, *args: Any) -> Any:
        raise NotImplementedError
