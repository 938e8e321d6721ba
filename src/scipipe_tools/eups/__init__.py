"""The pure EUPS model: versions, table files, repos.yaml, resolution, manifests, tag lists.

Nothing here touches git, the network or subprocesses.
"""
