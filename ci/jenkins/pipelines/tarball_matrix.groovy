// release/tarball-matrix: the tarball smoke test.  On every platform of the build matrix,
// in parallel, each on its agent and in its image, the published binaries of TAG are
// installed as an end user installs them: lsstinstall makes a fresh environment and stack
// from EUPS_ROOT, then `scipipe distrib smoke` installs PRODUCTS from the roots it wrote
// (what loadLSST.sh puts in EUPS_PKGROOT) into a fresh stack, sets each product up and
// runs the smoke command in that environment (default: import its Python package).  A
// product that fails to load fails its platform (exit 8), named with its output.
// Parameters: TAG, PRODUCTS, EUPS_ROOT, SMOKE_COMMAND, EXACT_ENV, PLATFORMS.
def util
node {
  checkout scm
  util = load 'ci/jenkins/pipelines/lib/util.groovy'
}

def props
util.bootstrap {
  sh label: 'plan', script: '''
    set --
    if [ -n "$PRODUCTS" ]; then set -- "$@" --products "$PRODUCTS"; fi
    if [ -n "$PLATFORMS" ]; then set -- "$@" --platform "$PLATFORMS"; fi
    scipipe ci matrix --format jenkins "$@" > matrix.properties
  '''
  props = readProperties(file: 'matrix.properties')
}

def legs = [:]
for (name in props.PLATFORMS.tokenize()) {
  def platform = name
  legs[platform] = {
    util.onPlatform(props, platform) {
      withEnv([
        "PRODUCTS=${props['PRODUCTS_' + util.key(platform)]}",
        "ENV_FLAG=${params.EXACT_ENV ? '-X' : '-T'}"
      ]) {
        sh label: 'scipipe distrib smoke', script: '''
          if [ -z "$TAG" ]; then echo "TAG: the published tag to install is required" >&2; exit 2; fi
          rm -rf "$WORK/smoke"
          mkdir -p "$WORK/smoke/home"
          cd "$WORK/smoke/home"
          lsstinstall "$ENV_FLAG" "$TAG" -E "$EUPS_ROOT" -p "$WORK/smoke/conda" -P -e smoke
          env="$WORK/smoke/conda/envs/smoke"
          EUPS_PKGROOT="$(cat "$env/share/eups/pkgroot")"
          export EUPS_PKGROOT
          set --
          if [ -n "$SMOKE_COMMAND" ]; then set -- --command "$SMOKE_COMMAND"; fi
          scipipe distrib smoke -t "$TAG" --env "$env" "$@" $PRODUCTS
        '''
      }
    }
  }
}
timeout(time: 4, unit: 'HOURS') {
  parallel legs
}
