"""``python -m scipipe_tools``: the ``scipipe`` command."""

from __future__ import annotations

from .cli.start import main

if __name__ == "__main__":
    main()
