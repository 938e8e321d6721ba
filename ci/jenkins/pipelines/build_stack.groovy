// release/docker/build-stack (jenkins-dm-jobs' name): the container image of a published
// EUPS tag, built without Docker by `scipipe image build`: the environment of the tag's
// env/TAG.env and PRODUCTS installed from EUPS_PKGROOT, as two layers on BASE_IMAGE, in an
// OCI layout, then pushed with skopeo to DOCKER_REPO under Rubin's tags (TAG, al9-TAG,
// both with the UTC timestamp, and each extra tag bare and with al9-).  The weekly starts
// it with TAG (DOWNSTREAM_JOBS); ROLLING_TAG adds w_latest / d_latest.  The registry
// credential reaches skopeo through an auth file in the workspace only; the environment
// layer is cached on the agent (the scipipe cache), so an unchanged lock is neither
// installed nor pushed again.  The agent needs skopeo.
// Parameters: TAG, PRODUCTS, EUPS_PKGROOT, BASE_IMAGE, DOCKER_REPO, DOCKER_TAGS,
// ROLLING_TAG, TIMESTAMP, NO_PUSH, TLS_VERIFY, TIMEOUT.
def util
node {
  checkout scm
  util = load 'ci/jenkins/pipelines/lib/util.groovy'
}

timeout(time: params.TIMEOUT.toInteger(), unit: 'HOURS') {
  util.bootstrap {
    withCredentials([usernamePassword(credentialsId: util.REGISTRY_CREDENTIALS,
                                      usernameVariable: 'REGISTRY_USER',
                                      passwordVariable: 'REGISTRY_PASSWORD')]) {
      withEnv([
        "PUSH_TO=${params.NO_PUSH ? '' : params.DOCKER_REPO}",
        "ROLLING=${params.ROLLING_TAG ? 'yes' : ''}",
        "REGISTRY_AUTH_FILE=${env.WORKSPACE}/registry-auth.json"
      ]) {
        try {
          sh label: 'scipipe image build', script: '''
            if [ -z "$TAG" ]; then echo "TAG: the EUPS tag is required" >&2; exit 2; fi
            set --
            for t in $DOCKER_TAGS; do set -- "$@" --extra-tag "$t"; done
            if [ -n "$ROLLING" ]; then
              case "$TAG" in
                w_*) set -- "$@" --extra-tag w_latest ;;
                d_*) set -- "$@" --extra-tag d_latest ;;
              esac
            fi
            if [ -n "$TIMESTAMP" ]; then set -- "$@" --timestamp "$TIMESTAMP"; fi
            if [ "$TLS_VERIFY" = false ]; then set -- "$@" --no-tls-verify; fi
            if [ -n "$PUSH_TO" ]; then
              host=${PUSH_TO#docker://}
              printf '%s' "$REGISTRY_PASSWORD" | skopeo login --tls-verify="${TLS_VERIFY:-true}" --authfile "$REGISTRY_AUTH_FILE" \
                -u "$REGISTRY_USER" --password-stdin "${host%%/*}"
              set -- "$@" --push="$PUSH_TO"
            fi
            rm -rf "$WORK/image"
            scipipe image build $PRODUCTS -t "$TAG" -r "$EUPS_PKGROOT" --base "$BASE_IMAGE" \
              -o "$WORK/image" --json "$@" > image.json
          '''
        } finally {
          sh label: 'registry logout', script: '''
            rm -f "$REGISTRY_AUTH_FILE"
          '''
        }
      }
    }
    archiveArtifacts artifacts: 'image.json'
  }
}
