// release/official-release: `scipipe release official` on the release agent.  Whether the
// release is final (a tag starting with a digit), which refs to build and what to
// publish are scipipe's decisions; O_LATEST for an RC is refused there.
// Once published (not after a dry run), release/tarball-matrix smoke-tests the tag's
// tarballs: the canonical products less EXCLUDE_FROM_TARBALLS.
// Parameters: SOURCE_GIT_REFS, RELEASE_GIT_TAG, O_LATEST, EXCLUDE_FROM_BUILDS,
// EXCLUDE_FROM_TARBALLS, DRY_RUN, TIMEOUT (hours the build step may take:
// --build-total-timeout).
def util
node {
  checkout scm
  util = load 'ci/jenkins/pipelines/lib/util.groovy'
}

def eupsTag = ''
def tarballProducts = ''
timeout(time: 30, unit: 'HOURS') {
  def props = util.planMatrix()
  util.onCanonical(props) {
    util.withRelease {
      def release_flags = util.flags([[params.O_LATEST, '--o-latest'], [params.DRY_RUN, '--dry-run'], [params.NO_VERSIONDB_PUSH, '--no-versiondb-push']])
      withEnv(["RELEASE_FLAGS=${release_flags}"]) {
        retry(3) {
          sh label: 'scipipe release official', script: '''
            set --
            for product in $EXCLUDE_FROM_BUILDS; do set -- "$@" --exclude "$product"; done
            scipipe release official --config "$RELEASE_CONFIG" --source-refs "$SOURCE_GIT_REFS" --tag "$RELEASE_GIT_TAG" $RELEASE_FLAGS ${SPLENV_REF:+--rubin-env "$SPLENV_REF"} ${TIMEOUT:+--build-total-timeout $((TIMEOUT * 3600))} --results results.json "$@"
          '''
        }
      }
    }
    archiveArtifacts artifacts: 'results.json', allowEmptyArchive: true
    if (!params.DRY_RUN) {
      eupsTag = util.releaseEupsTag()
      withEnv(["TOP_PRODUCTS=${props.TOP_PRODUCTS}"]) {
        tarballProducts = sh(label: 'tarball products', returnStdout: true, script: '''
          for product in $TOP_PRODUCTS; do
            case " $EXCLUDE_FROM_TARBALLS " in *" $product "*) ;; *) printf '%s ' "$product" ;; esac
          done
        ''').trim()
      }
    }
  }
  if (!params.DRY_RUN && tarballProducts) {
    build job: 'release/tarball-matrix', wait: false, parameters: [
      string(name: 'TAG', value: eupsTag), string(name: 'PRODUCTS', value: tarballProducts)
    ]
  }
}
