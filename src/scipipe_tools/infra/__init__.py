"""Infrastructure: files, subprocesses, git, HTTP, object storage and distribution roots,
locks, archives, progress.

Knows nothing of products or releases; every domain package stands on it.
"""
