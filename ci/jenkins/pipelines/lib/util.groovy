// Shared orchestration of the scipipe pipelines, loaded by each with
//   node { checkout scm; util = load 'ci/jenkins/pipelines/lib/util.groovy' }
// Where to run and with what: agents, images, credentials, scipipe-tools on PATH.  No
// release logic lives here (or in any pipeline): every step is a `scipipe` command, in
// an `sh` whose script is single-quoted (the shell, not Groovy, expands parameters).

// Any agent with Python >= 3.11 as python3 can plan; the plan names every other agent.
BOOTSTRAP_LABEL = 'docker'
// The release configuration (scipipe release --config): a managed file, absolute paths.
RELEASE_CONFIG_ID = 'scipipe-release-config'
// A token that may read teams and push tags (codekit's).
GITHUB_CREDENTIALS = 'github-api-token-sqreadmin'
// PyPI's upload token (username __token__), for release/pypi-release.
PYPI_CREDENTIALS = 'pypi-upload-token'
// The container registry's user and token (ghcr.io), for release/docker/build-stack.
REGISTRY_CREDENTIALS = 'rubinobs-dm'

// scipipe-tools, from this job's own checkout, in a venv on PATH for body.
def withScipipe(Closure body) {
  dir('scipipe-tools') {
    checkout scm
  }
  sh label: 'install scipipe-tools', script: '''
    python3 -m venv "$WORKSPACE/.scipipe-venv"
    "$WORKSPACE/.scipipe-venv/bin/pip" install --quiet --disable-pip-version-check "$WORKSPACE/scipipe-tools"
  '''
  withEnv([
    "PATH+SCIPIPE=${env.WORKSPACE}/.scipipe-venv/bin",
    "SCIPIPE_TOOLS=${env.WORKSPACE}/scipipe-tools",
    "SCIPIPE_BUILD_MATRIX=${env.WORKSPACE}/scipipe-tools/ci/build-matrix.yaml",
    "WORK=${env.WORKSPACE}/work"
  ]) {
    body()
  }
}

// body on the bootstrap agent, with scipipe.
def bootstrap(Closure body) {
  node(BOOTSTRAP_LABEL) {
    withScipipe(body)
  }
}

// The build matrix (ci/build-matrix.yaml) as a map, from `scipipe ci matrix`.
def planMatrix() {
  def props
  bootstrap {
    sh label: 'scipipe ci matrix', script: '''
      scipipe ci matrix --format jenkins > matrix.properties
    '''
    props = readProperties(file: 'matrix.properties')
  }
  return props
}

def key(String platform) {
  return platform.replace('-', '_')
}

def inImage(String image, Closure body) {
  if (image) {
    docker.image(image).inside {
      body()
    }
  } else {
    body()
  }
}

// body on a platform's agent, inside its image when it has one, with scipipe.
def onPlatform(Map props, String platform, Closure body) {
  node(props["LABEL_${key(platform)}"]) {
    inImage(props["IMAGE_${key(platform)}"]) {
      withScipipe {
        withEnv(["PLATFORM=${platform}"]) {
          body()
        }
      }
    }
  }
}

// body on the release agent, in the one workspace that run-rebuild, run-publish and the
// release flows share (the release work root: sources/, stack/, build/).
def onCanonical(Map props, Closure body) {
  def platform = props.CANONICAL_PLATFORM
  node(props.CANONICAL_LABEL) {
    ws('scipipe-release') {
      inImage(props["IMAGE_${key(platform)}"]) {
        withScipipe {
          withEnv(["PLATFORM=${platform}"]) {
            body()
          }
        }
      }
    }
  }
}

// repos.yaml from REPOS_URL, as REPOS_FILE.
def withRepos(Closure body) {
  sh label: 'repos.yaml', script: '''
    curl -fsSL --retry 3 "$REPOS_URL" -o repos.yaml
  '''
  withEnv(["REPOS_FILE=${env.WORKSPACE}/repos.yaml"]) {
    body()
  }
}

// The release configuration as RELEASE_CONFIG, and the GitHub token as GITHUB_TOKEN.
def withRelease(Closure body) {
  configFileProvider([configFile(fileId: RELEASE_CONFIG_ID, variable: 'RELEASE_CONFIG')]) {
    withCredentials([string(credentialsId: GITHUB_CREDENTIALS, variable: 'GITHUB_TOKEN')]) {
      body()
    }
  }
}

// A boolean parameter as a flag: the flag when true, '' otherwise.
def flag(value, String option) {
  return value ? option : ''
}

// Flags from [parameter value, option] pairs, space-separated.
def flags(List pairs) {
  return pairs.collect { flag(it[0], it[1]) }.findAll { it }.join(' ')
}

// rubin-env locked for PLATFORM, the environment created from the lock, PRODUCTS built
// from REFS into the work root WORK: the same commands as the setup-stack action.  With
// BUILD_CACHE (a directory, http(s) or s3:// root; unset or '' for none), the build takes
// products from that binary cache and stores the ones it builds there.  With BUILD_HOURS
// (the job's TIMEOUT), the build stops 15 minutes before them (--total-timeout).  With
// BUILD_DOCS=true (a job's boolean parameter), the build then builds the products'
// Sphinx documentation (--docs).
def buildStack() {
  sh label: 'scipipe env lock', script: '''
    scipipe env lock "${ENV_SPEC:-$SCIPIPE_TOOLS/envs/rubin-env-$RUBIN_ENV.yaml}" -p "$PLATFORM" -o "$WORK/rubin-env.conda-lock.yml"
  '''
  sh label: 'scipipe env create', script: '''
    scipipe env create --lock "$WORK/rubin-env.conda-lock.yml" -p "$WORK/env" --platform "$PLATFORM"
  '''
  sh label: 'scipipe build', script: '''
    PATH="$WORK/env/bin:$PATH"
    export PATH
    set --
    if [ -n "${BUILD_CACHE:-}" ]; then set -- --cache "$BUILD_CACHE"; fi
    if [ -n "${BUILD_HOURS:-}" ]; then set -- "$@" --total-timeout "$((BUILD_HOURS * 3600 - 900))"; fi
    if [ "${BUILD_DOCS:-}" = true ]; then set -- "$@" --docs; fi
    for ref in $REFS; do set -- "$@" -r "$ref"; done
    scipipe build $PRODUCTS --repos "$REPOS_FILE" --root "$WORK" $BUILD_FLAGS "$@"
  '''
}

// The EUPS tag a release flow made (the first of results.json's eups_tags).
def releaseEupsTag() {
  return sh(label: 'eups tag', returnStdout: true, script: '''
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["eups_tags"][0])' results.json
  ''').trim()
}

// Each job of a space-separated list started (not waited for) with TAG.
def startDownstream(String jobs, String tag) {
  for (name in (jobs ?: '').tokenize(' ')) {
    build job: name, wait: false, parameters: [string(name: 'TAG', value: tag)]
  }
}

return this
