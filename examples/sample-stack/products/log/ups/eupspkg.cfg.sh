# EUPS build hook for log, in the spirit of eupspkg.cfg.sh: the builder sources
# this file from the product's source directory and calls build, then install.
# It sets PREFIX (the directory to install into), PRODUCT and VERSION.
# Unlike the pure-Python products, log generates a file at build time.

build() {
    mkdir -p _build &&
        printf '__version__ = "%s"\n' "$VERSION" > _build/version.py
}

install() {
    mkdir -p "$PREFIX" &&
        cp -R python ups "$PREFIX/" &&
        cp _build/version.py "$PREFIX/python/lsst_log/version.py"
}
