// release/run-publish: `scipipe distrib publish` of a build of the release work root:
// binary tarballs and source packages, the exact environment, then the tag lists.
// Parameters: MANIFEST_ID, EUPS_TAG, ROLLING_TAGS, PRODUCTS, EUPS_ROOT, TIMEOUT.
def util
node {
  checkout scm
  util = load 'ci/jenkins/pipelines/lib/util.groovy'
}

def props = util.planMatrix()
timeout(time: params.TIMEOUT.toInteger(), unit: 'HOURS') {
  util.onCanonical(props) {
    withEnv(["PRODUCTS=${params.PRODUCTS ?: props.TOP_PRODUCTS}"]) {
      retry(3) {
        sh label: 'scipipe distrib publish', script: '''
          set --
          for tag in $ROLLING_TAGS; do set -- "$@" --rolling "$tag"; done
          scipipe distrib publish -b "$MANIFEST_ID" -t "$EUPS_TAG" $PRODUCTS --stack "$WORK/stack" --sources "$WORK/sources" --env-file "$WORK/rubin-env.conda-lock.yml" --platform "$PLATFORM" --eups-root "$EUPS_ROOT" "$@"
        '''
      }
    }
  }
}
