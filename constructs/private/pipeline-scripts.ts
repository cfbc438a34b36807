// The scripts the training pipeline's steps run. Each reads its inputs from environment variables,
// never from `$(params.…)` spliced into the text: a parameter value can then never become shell
// code, and every script can be shellchecked and run outside Tekton as it is.

/** Runs the slipway CLI of the runtime image (its entry point is `node /app/build/lib/cli/main.js`). */
const SLIPWAY_FUNCTION = `slipway() {
  node /app/build/lib/cli/main.js "$@"
}`;

/** Basic-auth header for git over HTTPS when a username and password (token) are given. */
const GIT_AUTH_FUNCTION = `git_auth() {
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

/** train: fails, naming the file, when training did not leave model.onnx and metrics.json. */
export const CHECK_OUTPUTS_SCRIPT = `#!/bin/sh
set -eu
missing=0
for file in model.onnx metrics.json; do
  if [ ! -s "$OUTPUT_DIR/$file" ]; then
    echo "train: the training step did not write $OUTPUT_DIR/$file" >&2
    missing=1
  fi
done
exit "$missing"
`;

/**
 * evaluate: reads METRICS_FILE, writes the numeric metrics to RESULT_METRICS (compact JSON) and
 * each gated metric to the result file \`metric-<name>\` beside it, then checks GATES (JSON array
 * of {metric, op, value}); exits 1 naming every failed gate.
 */
export const EVALUATE_SCRIPT = `#!/bin/sh
set -eu
node <<'JS'
const fs = require('node:fs');
const path = require('node:path');
const file = process.env.METRICS_FILE;
const gates = JSON.parse(process.env.GATES || '[]');
let metrics;
try {
  metrics = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch (err) {
  console.error('evaluate: cannot read ' + file + ': ' + err.message);
  process.exit(1);
}
if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) {
  console.error('evaluate: ' + file + ' must hold a JSON object of metric names to numbers');
  process.exit(1);
}
const numeric = Object.fromEntries(Object.entries(metrics).filter(([, v]) => typeof v === 'number' && Number.isFinite(v)));
fs.writeFileSync(process.env.RESULT_METRICS, JSON.stringify(numeric));
const resultsDir = path.dirname(process.env.RESULT_METRICS);
const compare = { '>=': (a, b) => a >= b, '>': (a, b) => a > b, '<=': (a, b) => a <= b, '<': (a, b) => a < b, '==': (a, b) => a === b };
const failed = [];
for (const gate of gates) {
  const value = numeric[gate.metric];
  if (value === undefined) {
    failed.push('metric "' + gate.metric + '" is missing from ' + file + ' (found: ' + (Object.keys(numeric).join(', ') || 'none') + ')');
    continue;
  }
  fs.writeFileSync(path.join(resultsDir, 'metric-' + gate.metric.toLowerCase().replace(/[^a-z0-9]+/g, '-')), String(value));
  const ok = compare[gate.op](value, gate.value);
  console.log('evaluate: ' + gate.metric + ' = ' + value + ', gate ' + gate.op + ' ' + gate.value + ': ' + (ok ? 'passed' : 'FAILED'));
  if (!ok) failed.push('gate failed: ' + gate.metric + ' = ' + value + ', expected ' + gate.op + ' ' + gate.value);
}
if (failed.length > 0) {
  for (const message of failed) console.error('evaluate: ' + message);
  process.exit(1);
}
JS
`;

/** profile: the drift baseline of the training data, shipped beside the model. */
export const PROFILE_SCRIPT = `#!/bin/sh
set -eu
${SLIPWAY_FUNCTION}
if [ ! -f "$TRAINING_DATA" ]; then
  echo "profile: training data $TRAINING_DATA does not exist" >&2
  exit 1
fi
slipway baseline --data "$TRAINING_DATA" --out "$OUTPUT_DIR/baseline.json"
sha256sum "$OUTPUT_DIR/baseline.json" | cut -d ' ' -f 1 | tr -d '\\n' > "$RESULT_BASELINE_SHA256"
`;

/**
 * package (prepare): lays the model and baseline out as the runtime's model repository in a
 * build context with a Dockerfile FROM the pinned runtime image, and records the model's sha256.
 */
export const PREPARE_IMAGE_SCRIPT = `#!/bin/sh
set -eu
case "$MODEL_VERSION" in
  '' | */* | .*)
    echo "package: version \\"$MODEL_VERSION\\" cannot name a model repository folder" >&2
    exit 1
    ;;
esac
rm -rf "$CONTEXT_DIR"
target="$CONTEXT_DIR/models/$MODEL_NAME/$MODEL_VERSION"
mkdir -p "$target"
cp "$OUTPUT_DIR/model.onnx" "$target/model.onnx"
if [ -f "$OUTPUT_DIR/baseline.json" ]; then
  cp "$OUTPUT_DIR/baseline.json" "$target/baseline.json"
fi
cat > "$CONTEXT_DIR/Dockerfile" <<EOF
FROM $RUNTIME_IMAGE
COPY models/ /models/
ENV SLIPWAY_MODEL_REPOSITORY=/models
LABEL org.opencontainers.image.version="$MODEL_VERSION" dev.slipway.model="$MODEL_NAME"
EOF
sha256sum "$target/model.onnx" | cut -d ' ' -f 1 | tr -d '\\n' > "$RESULT_ARTIFACT_SHA256"
echo "package: context for $MODEL_NAME $MODEL_VERSION ready, model sha256 $(cat "$RESULT_ARTIFACT_SHA256")"
`;

/**
 * test: waits for the runtime at SERVER_URL, sends one request built from SIGNATURE (JSON
 * {inputs, outputs} with -1 for dynamic dims) to /v2/models/MODEL_NAME/infer and checks that it
 * answers 200 with every output of the signature in the expected datatype and shape.
 */
export const SMOKE_TEST_SCRIPT = `#!/bin/sh
set -eu
node <<'JS'
const base = process.env.SERVER_URL;
const model = process.env.MODEL_NAME;
const signature = JSON.parse(process.env.SIGNATURE);
const deadline = Date.now() + Number(process.env.READY_TIMEOUT_SECONDS || '120') * 1000;
const fail = (message) => {
  console.error('test: ' + message);
  process.exit(1);
};
const sample = (datatype, count) => {
  if (datatype === 'BOOL') return Array(count).fill(false);
  if (datatype === 'BYTES') return Array(count).fill('');
  return Array.from({ length: count }, (_, i) => (datatype.startsWith('FP') ? (i % 7) / 7 : i % 7));
};
async function waitReady() {
  for (;;) {
    try {
      const res = await fetch(base + '/v2/models/' + model + '/ready');
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) fail('model ' + model + ' was not ready at ' + base + ' in time');
    await new Promise((r) => setTimeout(r, 1000));
  }
}
(async () => {
  await waitReady();
  const inputs = signature.inputs.map((t) => {
    const shape = t.shape.map((d) => (d < 0 ? 1 : d));
    return { name: t.name, datatype: t.datatype, shape, data: sample(t.datatype, shape.reduce((a, b) => a * b, 1)) };
  });
  const res = await fetch(base + '/v2/models/' + model + '/infer', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs }),
  });
  const text = await res.text();
  if (res.status !== 200) fail('POST /v2/models/' + model + '/infer answered ' + res.status + ': ' + text.slice(0, 500));
  const outputs = JSON.parse(text).outputs || [];
  const problems = [];
  for (const want of signature.outputs) {
    const got = outputs.find((o) => o.name === want.name);
    if (!got) {
      problems.push('output "' + want.name + '" is missing (got ' + (outputs.map((o) => o.name).join(', ') || 'none') + ')');
      continue;
    }
    const shapeOk = Array.isArray(got.shape) && got.shape.length === want.shape.length && want.shape.every((d, i) => (d < 0 ? got.shape[i] === 1 : got.shape[i] === d));
    if (!shapeOk) problems.push('output "' + want.name + '" has shape ' + JSON.stringify(got.shape) + ', expected ' + JSON.stringify(want.shape.map((d) => (d < 0 ? 1 : d))));
    if (got.datatype !== want.datatype) problems.push('output "' + want.name + '" has datatype ' + got.datatype + ', expected ' + want.datatype);
  }
  if (problems.length > 0) fail(problems.join('; '));
  console.log('test: ' + model + ' answered 200 with ' + signature.outputs.map((o) => o.name + JSON.stringify(o.shape)).join(', '));
})().catch((err) => fail(err.message));
JS
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

/**
 * release: records the build in the config repository for the first environment and pushes it
 * (slipway reads the token from SLIPWAY_GIT_TOKEN, never from a file).
 */
export const RELEASE_SCRIPT = `#!/bin/sh
set -eu
${SLIPWAY_FUNCTION}
cd "$PLATFORM_DIR"
if [ ! -d node_modules ] && [ -f package-lock.json ]; then
  npm ci --ignore-scripts --no-audit --no-fund
fi
slipway release --app "$APP_FILE" --repo "$CONFIG_DIR" --push origin \\
  --env "$RELEASE_ENV" --model "$MODEL_NAME" --version "$MODEL_VERSION" \\
  --artifact-sha256 "$ARTIFACT_SHA256" --image-digest "$IMAGE_DIGEST"
`;

/**
 * report (finally): prints the outcome of every task and records it as a Kubernetes Event on
 * the PipelineRun, so \`kubectl describe pipelinerun\` shows why a run failed. Reporting never
 * fails the run: its outcome is already decided.
 */
export const REPORT_SCRIPT = `#!/bin/sh
set -eu
node <<'JS'
const fs = require('node:fs');
const https = require('node:https');
const statuses = JSON.parse(process.env.TASK_STATUSES);
const overall = process.env.AGGREGATE_STATUS;
const failed = Object.entries(statuses).filter(([, s]) => s === 'Failed').map(([t]) => t);
const message = process.env.MODEL_NAME + ' training ' + overall.toLowerCase() +
  (failed.length ? ' (failed: ' + failed.join(', ') + ')' : '') + ', run ' + process.env.PIPELINE_RUN;
console.log('report: ' + message);
for (const [task, status] of Object.entries(statuses)) console.log('  ' + task.padEnd(10) + ' ' + status);
const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
if (!fs.existsSync(sa + '/token')) {
  console.log('report: no service account token; not recording an event');
  process.exit(0);
}
const ns = process.env.NAMESPACE;
const now = new Date().toISOString();
const event = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { generateName: process.env.PIPELINE_RUN + '-', namespace: ns },
  involvedObject: { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', name: process.env.PIPELINE_RUN, namespace: ns, uid: process.env.PIPELINE_RUN_UID },
  reason: overall === 'Succeeded' || overall === 'Completed' ? 'TrainingSucceeded' : 'TrainingFailed',
  message,
  type: overall === 'Succeeded' || overall === 'Completed' ? 'Normal' : 'Warning',
  firstTimestamp: now,
  lastTimestamp: now,
  count: 1,
  source: { component: 'slipway-pipeline' },
};
const req = https.request({
  host: process.env.KUBERNETES_SERVICE_HOST,
  port: process.env.KUBERNETES_SERVICE_PORT,
  path: '/api/v1/namespaces/' + ns + '/events',
  method: 'POST',
  ca: fs.readFileSync(sa + '/ca.crt'),
  headers: { authorization: 'Bearer ' + fs.readFileSync(sa + '/token', 'utf8').trim(), 'content-type': 'application/json' },
}, (res) => {
  res.resume();
  console.log('report: event ' + (res.statusCode === 201 ? 'recorded' : 'refused with ' + res.statusCode));
});
req.on('error', (err) => console.log('report: event not recorded: ' + err.message));
req.end(JSON.stringify(event));
JS
`;
