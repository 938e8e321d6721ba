// release/pypi-release: the pure-Python products of TAG (an EUPS or git tag: w_2025_07,
// w.2025.07, v29_0_0) to PyPI (`scipipe release pypi`).  Each product at the git tag is
// versioned by lsst-versions, built, checked and uploaded with twine; a version PyPI
// already has with the same files is skipped (a rerun uploads nothing), one it has with
// other files fails the job (exit 6) before anything is uploaded.  The upload token is a
// Jenkins credential, given to twine through its environment only.
// Parameters: TAG, PRODUCTS, REPOS_URL, REPOSITORY_URL, DRY_RUN.
def util
node {
  checkout scm
  util = load 'ci/jenkins/pipelines/lib/util.groovy'
}

timeout(time: 3, unit: 'HOURS') {
  util.bootstrap {
    withCredentials([usernamePassword(credentialsId: util.PYPI_CREDENTIALS,
                                      usernameVariable: 'TWINE_USERNAME',
                                      passwordVariable: 'TWINE_PASSWORD')]) {
      withEnv(["DRY_FLAG=${params.DRY_RUN ? '--dry-run' : ''}"]) {
        sh label: 'scipipe release pypi', script: '''
          if [ -z "$TAG" ]; then echo "TAG: the release tag is required" >&2; exit 2; fi
          if [ -z "$PRODUCTS" ]; then echo "PRODUCTS: the products to publish are required" >&2; exit 2; fi
          GIT_TAG=$(scipipe release tag-name "$TAG" | cut -d' ' -f1)
          case "$TAG" in w.*|v*.*) GIT_TAG=$TAG ;; esac
          set --
          for p in $PRODUCTS; do set -- "$@" --product "$p"; done
          scipipe release pypi --json --ref "$GIT_TAG" "$@" --repos "$REPOS_URL" \
            --repository-url "$REPOSITORY_URL" --work-dir "$WORK/pypi" $DRY_FLAG > pypi.json
        '''
      }
    }
    archiveArtifacts artifacts: 'pypi.json'
  }
}
