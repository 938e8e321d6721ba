// release/weekly-release: `scipipe release weekly` on the release agent.  The flow (build,
// versiondb, publish w_YYYY_WW and w_latest, product tags once the EUPS tag is visible,
// auxiliary tags, results.json) is scipipe's and resumable, so a retry finishes what is
// left.  Then the DOWNSTREAM_JOBS are started with TAG, the EUPS tag (not after a dry
// run).  Parameters: DATE ('' for now), DRY_RUN, NO_VERSIONDB_PUSH, DOWNSTREAM_JOBS,
// TIMEOUT (hours the build step may take: --build-total-timeout).
def util
node {
  checkout scm
  util = load 'ci/jenkins/pipelines/lib/util.groovy'
}

def eupsTag = ''
timeout(time: 30, unit: 'HOURS') {
  def props = util.planMatrix()
  util.onCanonical(props) {
    util.withRelease {
      withEnv(["DRY_RUN_FLAG=${util.flag(params.DRY_RUN, '--dry-run')}", "VDB_FLAG=${util.flag(params.NO_VERSIONDB_PUSH, '--no-versiondb-push')}"]) {
        retry(3) {
          sh label: 'scipipe release weekly', script: '''
            scipipe release weekly --config "$RELEASE_CONFIG" ${DATE:+--date "$DATE"} $DRY_RUN_FLAG $VDB_FLAG ${TIMEOUT:+--build-total-timeout $((TIMEOUT * 3600))} --results results.json
          '''
        }
      }
    }
    archiveArtifacts artifacts: 'results.json', allowEmptyArchive: true
    if (!params.DRY_RUN) {
      eupsTag = util.releaseEupsTag()
    }
  }
  if (!params.DRY_RUN) {
    util.startDownstream(params.DOWNSTREAM_JOBS, eupsTag)
  }
}
