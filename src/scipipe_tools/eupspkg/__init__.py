"""One product built as eupspkg builds it: its verbs (eupspkg.sh), environment, test check."""
