"""``scipipe demo``: the sample stack as real git repositories and a real local conda channel."""
