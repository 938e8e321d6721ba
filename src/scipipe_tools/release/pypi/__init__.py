"""PyPI releases of the pure-Python products (``scipipe release pypi``).

:mod:`.project` reads a product's ``pyproject.toml`` and its lsst-versions version,
:mod:`.index` reads what a PyPI-compatible index holds, :mod:`.dists` builds, checks
and uploads, :mod:`.auth` finds the upload credentials, and :mod:`.publish` plans and
runs a release of many products.
"""
