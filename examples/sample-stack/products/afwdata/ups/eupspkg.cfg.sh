# EUPS build hook for afwdata (data only): the builder sources this file from the
# product's source directory and calls build, then install, with PREFIX,
# PRODUCT and VERSION set.  "Building" records a checksum of every data file.

build() {
    mkdir -p _build &&
        (cd data && cksum *) > _build/MANIFEST
}

install() {
    mkdir -p "$PREFIX" &&
        cp -R data ups "$PREFIX/" &&
        cp _build/MANIFEST "$PREFIX/data/MANIFEST"
}
