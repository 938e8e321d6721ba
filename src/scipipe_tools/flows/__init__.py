"""The release pipelines: weekly, nightly and official flows (build, publish, tag, changelog)."""
