"""The fixture library: real git repositories for tests, benchmarks and ``scipipe demo``.

It ships with the package (rather than living under ``tests/``) so that the benchmarks
and the ``scipipe demo`` command can build the same stacks the tests do.

- :mod:`.gitrepo`: reproducible git (fixed identities, a fake clock, isolated config).
- :mod:`.samplestack`: turn ``examples/sample-stack`` into bare remotes with real
  history (ticket branches, ``--no-ff`` merges, weekly tags) and a local repos.yaml.
- :mod:`.stackgen`: synthetic stacks of any size (a random DAG of table files) and
  their git repositories, written with ``git fast-import``.

Everything is deterministic: the same inputs give the same SHAs.
"""
