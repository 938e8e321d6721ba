"""Stack container images: the environment and the stack as layers on a base image."""
