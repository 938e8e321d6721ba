"""lsstinstall: the rubin-env environment and an EUPS stack ready for binary installs."""
