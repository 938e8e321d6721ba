// release/changelog: the changelog sites of the weekly and the release series
// (`scipipe changelog -f html`), kept as artifacts.  Parameters: EUPS_ROOT_URL, REPOS_URL.
def util
node {
  checkout scm
  util = load 'ci/jenkins/pipelines/lib/util.groovy'
}

timeout(time: 2, unit: 'HOURS') {
  util.bootstrap {
    sh label: 'scipipe changelog', script: '''
      rm -rf site
      scipipe changelog --weekly --repos "$REPOS_URL" --eups-root "$EUPS_ROOT_URL" -f html -o site/weekly
      scipipe changelog --releases --repos "$REPOS_URL" --eups-root "$EUPS_ROOT_URL" -f html -o site/releases
    '''
    archiveArtifacts artifacts: 'site/**'
  }
}
