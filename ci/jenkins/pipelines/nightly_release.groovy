// release/nightly-release: `scipipe release nightly` on the release agent: the weekly
// flow with d_YYYY_MM_DD and d_latest, both tagging steps dry runs.  Parameters: DATE
// ('' for now), DRY_RUN, NO_VERSIONDB_PUSH, TIMEOUT (hours the build step may take:
// --build-total-timeout).
def util
node {
  checkout scm
  util = load 'ci/jenkins/pipelines/lib/util.groovy'
}

timeout(time: 30, unit: 'HOURS') {
  def props = util.planMatrix()
  util.onCanonical(props) {
    util.withRelease {
      withEnv(["DRY_RUN_FLAG=${util.flag(params.DRY_RUN, '--dry-run')}", "VDB_FLAG=${util.flag(params.NO_VERSIONDB_PUSH, '--no-versiondb-push')}"]) {
        retry(3) {
          sh label: 'scipipe release nightly', script: '''
            scipipe release nightly --config "$RELEASE_CONFIG" ${DATE:+--date "$DATE"} $DRY_RUN_FLAG $VDB_FLAG ${TIMEOUT:+--build-total-timeout $((TIMEOUT * 3600))} --results results.json
          '''
        }
      }
    }
    archiveArtifacts artifacts: 'results.json', allowEmptyArchive: true
  }
}
