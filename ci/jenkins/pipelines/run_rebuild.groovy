// release/run-rebuild: lsstsw's rebuild in the release work root: rubin-env locked and
// created for the canonical platform, then `scipipe build`.  Keeps the manifest (callers
// read BUILD=bNNNN from it), status.yaml/json, the JUnit report and the products' logs,
// also when the build failed or timed out.  The build is given TIMEOUT hours less 15
// minutes (scipipe build --total-timeout), so that it stops before this job's timeout;
// if that comes first, its SIGTERM still has scipipe write the reports.
// With BUILD_DOCS the products' Sphinx documentation is built after the build (scipipe
// build --docs) and kept with the logs (work/build/docs/).
// Parameters: REFS, PRODUCTS, NO_BINARY_FETCH, PREP_ONLY, NO_FETCH, BUILD_DOCS, TIMEOUT,
// SPLENV_REF, REPOS_URL.
def util
node {
  checkout scm
  util = load 'ci/jenkins/pipelines/lib/util.groovy'
}

def props = util.planMatrix()
timeout(time: params.TIMEOUT.toInteger(), unit: 'HOURS') {
  util.onCanonical(props) {
    try {
      util.withRepos {
        def build_flags = util.flags([
          [params.NO_BINARY_FETCH, '-B'], [params.PREP_ONLY, '-p'], [params.NO_FETCH, '-n']
        ])
        withEnv([
          "PRODUCTS=${params.PRODUCTS ?: props.TOP_PRODUCTS}",
          "RUBIN_ENV=${params.SPLENV_REF ?: props.RUBIN_ENV}",
          "BUILD_FLAGS=${build_flags}",
          "BUILD_DOCS=${params.BUILD_DOCS}",
          "BUILD_HOURS=${params.TIMEOUT}"
        ]) {
          util.buildStack()
        }
      }
    } finally {
      archiveArtifacts artifacts: 'work/build/manifest.txt, work/build/status.yaml, work/build/status.json, work/build/logs/**, work/build/docs/**', allowEmptyArchive: true
      junit allowEmptyResults: true, testResults: 'work/build/junit.xml'
    }
  }
}
