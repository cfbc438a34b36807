// The shell scripts left in the training pipeline: steps in images without slipway (git, the
// training image). Every other step runs `slipway pipeline <step>` (lib/pipeline). Each script
// reads its inputs from environment variables, never from `$(params.…)` spliced into the text: a
// parameter value can then never become shell code, and every script can be shellchecked and
// run outside Tekton as it is.

/** Basic-auth header for git over HTTPS when a username and password (token) are given. */
export const GIT_AUTH_FUNCTION = `git_auth() {
  if [ -n "\${GIT_PASSWORD:-}" ]; then
    basic=$(printf '%s:%s' "\${GIT_USERNAME:-x-access-token}" "$GIT_PASSWORD" | base64 | tr -d '\\n')
    git -c safe.directory='*' -c "http.extraHeader=Authorization: Basic $basic" "$@"
  else
    git -c safe.directory='*' "$@"
  fi
}`;

/**
 * fetch: clones SOURCE_URL at REVISION (branch, tag or commit) into SOURCE_DIR and writes the
 * commit and the model version (VERSION, or `<commit date>-<short commit>` when empty).
 */
export const FETCH_SCRIPT = `#!/bin/sh
set -eu
${GIT_AUTH_FUNCTION}
mkdir -p "$SOURCE_DIR"
cd "$SOURCE_DIR"
find . -mindepth 1 -maxdepth 1 -exec rm -rf {} +
git init -q .
git_auth fetch -q --depth 1 "$SOURCE_URL" "$REVISION"
git -c safe.directory='*' -c advice.detachedHead=false checkout -q FETCH_HEAD
commit=$(git -c safe.directory='*' rev-parse HEAD)
if [ -n "$VERSION" ]; then
  version=$VERSION
else
  version="$(git -c safe.directory='*' log -1 --format=%cd --date=format:%Y%m%d%H%M%S)-$(printf '%s' "$commit" | cut -c 1-7)"
fi
printf '%s' "$commit" > "$RESULT_COMMIT"
printf '%s' "$version" > "$RESULT_VERSION"
echo "fetch: $SOURCE_URL $REVISION at $commit, version $version"
`;

/**
 * train (notebook): runs the notebook headless with papermill; the step's arguments are passed
 * on to papermill (the \`-p name value\` pairs of the training parameters).
 */
export const NOTEBOOK_SCRIPT = `#!/bin/sh
set -eu
mkdir -p "$OUTPUT_DIR"
papermill "$NOTEBOOK" "$OUTPUT_DIR/executed.ipynb" --log-output \\
  -p output_dir "$OUTPUT_DIR" -p training_data "$TRAINING_DATA" "$@"
`;

/** release (checkout): clones the platform source and the config repository. */
export const RELEASE_CHECKOUT_SCRIPT = `#!/bin/sh
set -eu
${GIT_AUTH_FUNCTION}
rm -rf "$PLATFORM_DIR" "$CONFIG_DIR"
git_auth clone -q --depth 1 --branch "$PLATFORM_REVISION" "$PLATFORM_URL" "$PLATFORM_DIR"
git_auth clone -q "$CONFIG_URL" "$CONFIG_DIR"
echo "release: platform $PLATFORM_URL@$PLATFORM_REVISION, config repository $CONFIG_URL"
`;
