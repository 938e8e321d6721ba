// release/run-rebuild: lsstsw's rebuild in the release work root: rubin-env locked and
// created for the canonical platform, then `scipipe build`.  Keeps the manifest (callers
// read BUILD=bNNNN from it), status.yaml and the JUnit report.
// Parameters: REFS, PRODUCTS, NO_BINARY_FETCH, PREP_ONLY, NO_FETCH, TIMEOUT, SPLENV_REF,
// REPOS_URL.
def util
node {
  checkout scm
  util = load 'ci/jenkins/pipelines/lib/util.groovy'
}

def props = util.planMatrix()
timeout(time: params.TIMEOUT.toInteger(), unit: 'HOURS') {
  util.onCanonical(props) {
    util.withRepos {
      def build_flags = util.flags([
        [params.NO_BINARY_FETCH, '-B'], [params.PREP_ONLY, '-p'], [params.NO_FETCH, '-n']
      ])
      withEnv([
        "PRODUCTS=${params.PRODUCTS ?: props.TOP_PRODUCTS}",
        "RUBIN_ENV=${params.SPLENV_REF ?: props.RUBIN_ENV}",
        "BUILD_FLAGS=${build_flags}"
      ]) {
        util.buildStack()
      }
    }
    archiveArtifacts artifacts: 'work/build/manifest.txt, work/build/status.yaml', allowEmptyArchive: true
    junit allowEmptyResults: true, testResults: 'work/build/junit.xml'
  }
}
