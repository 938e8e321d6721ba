// stack-os-matrix: build the stack on every platform of the build matrix, in parallel,
// each on its agent and in its image.  With CHANGED, `scipipe ci matrix` narrows each
// platform to the changed products and what depends on them (their table files, from a
// prep-only clone, give the graph).  With BUILD_CACHE, every platform's build fetches
// what the cache has and stores what it builds (scipipe build --cache).  Parameters: REFS,
// PRODUCTS, CHANGED, PLATFORMS, SPLENV_REF, NO_BINARY_FETCH, BUILD_DOCS, BUILD_CACHE,
// REPOS_URL.  With BUILD_DOCS, each platform's build then builds the products' Sphinx
// documentation (scipipe build --docs).
def util
node {
  checkout scm
  util = load 'ci/jenkins/pipelines/lib/util.groovy'
}

def props
util.bootstrap {
  util.withRepos {
    sh label: 'plan', script: '''
      set --
      for ref in $REFS; do set -- "$@" -r "$ref"; done
      top="$PRODUCTS"
      if [ -z "$top" ]; then
        top="$(scipipe ci matrix --format jenkins | sed -n 's/^TOP_PRODUCTS=//p')"
      fi
      if [ -n "$CHANGED" ]; then
        scipipe build $top --repos "$REPOS_FILE" --root "$WORK" --prep-only "$@"
        scipipe ci matrix --format jenkins --products "$top" --sources "$WORK/sources" --changed "$CHANGED" ${PLATFORMS:+--platform "$PLATFORMS"} > matrix.properties
      else
        scipipe ci matrix --format jenkins --products "$top" ${PLATFORMS:+--platform "$PLATFORMS"} > matrix.properties
      fi
    '''
    props = readProperties(file: 'matrix.properties')
  }
}

def legs = [:]
for (name in props.PLATFORMS.tokenize()) {
  def platform = name
  legs[platform] = {
    util.onPlatform(props, platform) {
      util.withRepos {
        withEnv([
          "PRODUCTS=${props['PRODUCTS_' + util.key(platform)]}",
          "RUBIN_ENV=${params.SPLENV_REF ?: props.RUBIN_ENV}",
          "BUILD_FLAGS=${util.flag(params.NO_BINARY_FETCH, '-B')}",
          "BUILD_DOCS=${params.BUILD_DOCS}",
          "BUILD_CACHE=${params.BUILD_CACHE ?: ''}"
        ]) {
          util.buildStack()
        }
      }
      junit allowEmptyResults: true, testResults: 'work/build/junit.xml'
    }
  }
}
timeout(time: 12, unit: 'HOURS') {
  parallel legs
}
