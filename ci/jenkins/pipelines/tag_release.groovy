// release/tag-release: `scipipe release tag` (codekit's github-tag-release) with
// jenkins-dm-jobs' team policy.  Every repo is checked before the first write; the exit
// code is the number of errors.  Parameters: GIT_TAG, MANIFEST_ID, EUPS_TAG,
// MANIFEST_ONLY, IGNORE_GIT_MESSAGE, IGNORE_GIT_TAGGER, VERIFY, DRY_RUN, GITHUB_ORG,
// TAGGER_USER, TAGGER_EMAIL, LSST_VERSIONDB_BASE_URL, LSST_EUPSTAG_BASE_URL, REPOS_URL.
def util
node {
  checkout scm
  util = load 'ci/jenkins/pipelines/lib/util.groovy'
}

timeout(time: 30, unit: 'MINUTES') {
  util.bootstrap {
    util.withRepos {
      def tag_flags = util.flags([
        [params.MANIFEST_ONLY, '--manifest-only'],
        [params.IGNORE_GIT_MESSAGE, '--ignore-git-message'],
        [params.IGNORE_GIT_TAGGER, '--ignore-git-tagger'],
        [params.VERIFY, '--verify'],
        [params.DRY_RUN, '--dry-run']
      ])
      withEnv(["TAG_FLAGS=${tag_flags}"]) {
        withCredentials([string(credentialsId: util.GITHUB_CREDENTIALS, variable: 'GITHUB_TOKEN')]) {
          sh label: 'scipipe release tag', script: '''
            scipipe release tag "$GIT_TAG" --manifest "$MANIFEST_ID" ${EUPS_TAG:+--eups-tag "$EUPS_TAG"} \
              --repos "$REPOS_FILE" --org "$GITHUB_ORG" \
              --allow-team 'Data Management' --allow-team 'DM Externals' \
              --external-team 'DM Externals' --deny-team 'DM Auxilliaries' \
              --user "$TAGGER_USER" --email "$TAGGER_EMAIL" --fail-fast $TAG_FLAGS
          '''
        }
      }
    }
  }
}
