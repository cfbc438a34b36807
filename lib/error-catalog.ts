/**
 * Every error code slipway reports, with the stable id users and tooling can rely on
 * (`SLIPWAY_E####`), what causes it and how to fix it. Code keeps throwing
 * `new SlipwayError('SYMBOLIC_CODE', message)`; the CLI prints the id next to the message and
 * docs/errors.md is generated from this table (`npm run docs:errors`).
 *
 * Adding a code: add an entry here with the next free id of its range, then run
 * `npm run docs:errors`. test/error-catalog.test.ts fails on a code used in lib/ or constructs/
 * that is missing here or in docs/errors.md. Ids are never reused or renumbered.
 */
export interface CatalogEntry {
  readonly id: `SLIPWAY_E${number}`;
  readonly cause: string;
  readonly fix: string;
}

export const ERROR_CATALOG = {
  // E00xx: general
  INTERNAL_ERROR: { id: 'SLIPWAY_E0001', cause: 'An unexpected error (a bug in slipway or in a library it calls) reached the CLI.', fix: 'Run again; if it repeats, report it with the printed stack trace.' },
  INVALID_ARGUMENT: { id: 'SLIPWAY_E0002', cause: 'A command was given arguments that contradict each other (e.g. promote with --from equal to --to).', fix: 'Read the message for the conflicting flags and pass different values.' },
  CLI_INVALID_FLAG: { id: 'SLIPWAY_E0003', cause: 'A flag or its environment variable has a value outside the accepted range or set.', fix: 'Pass a value in the range the message names (see `slipway <command> --help`).' },

  // E01xx: the app, its constructs and spec files
  APP_NOT_FOUND: { id: 'SLIPWAY_E0101', cause: 'The app module given with --app does not exist.', fix: 'Pass --app with the path of your app (default apps/main.ts).' },
  APP_FAILED: { id: 'SLIPWAY_E0102', cause: 'The app module threw while it was loaded or while it built its constructs.', fix: 'Fix the error quoted in the message (its stack names the line); run the app with `npx tsx <app>` to reproduce it.' },
  APP_INVALID: { id: 'SLIPWAY_E0103', cause: 'The app module neither exports a default build(app) function nor creates an App and calls app.synth(), defines no Platform, or exports a malformed allowUnvalidatedKinds.', fix: 'Export `default function build(app: App)` or create `new App()` and call `app.synth()`; create a Platform in it.' },
  APP_TYPE_ERRORS: { id: 'SLIPWAY_E0104', cause: 'The TypeScript app does not type-check (e.g. a misspelled prop such as maxReplica).', fix: 'Fix the errors listed as file:line:column; `--no-type-check` skips the check when you must.' },
  APP_LOADER_MISSING: { id: 'SLIPWAY_E0105', cause: 'A TypeScript app needs `typescript` (type-check) and `tsx` (to run it), and the project has neither installed.', fix: 'npm install --save-dev typescript tsx (or pass --no-type-check to skip the type-check).' },
  APP_EXITED: { id: 'SLIPWAY_E0106', cause: 'The app module called process.exit() while slipway synthesized it, which would end slipway before it committed or released its lock.', fix: 'Throw an Error from the app to report a problem; leave exiting to slipway.' },
  INVALID_PROPS: { id: 'SLIPWAY_E0110', cause: 'A construct was given props it cannot render (out of range, malformed, contradictory).', fix: 'Each problem names the construct path, the prop, the value given and what is expected: change those props.' },
  INVALID_CONSTRUCT: { id: 'SLIPWAY_E0111', cause: 'A construct reported problems through its validate() hook when the app was compiled.', fix: 'Fix the constructs listed under their paths.' },
  INVALID_SPEC: { id: 'SLIPWAY_E0112', cause: 'A model spec file (YAML/JSON) has invalid YAML, fields the schema does not allow, values that break construct rules, or environments the app does not define.', fix: 'Fix every problem listed as file:line:column; schemas/model-deployment.schema.json documents the fields.' },
  INVALID_OBJECT: { id: 'SLIPWAY_E0113', cause: 'A chart contains an object without apiVersion, kind or metadata.name.', fix: 'Give the ApiObject named in the message an apiVersion, kind and metadata.name.' },
  UNKNOWN_ENVIRONMENT: { id: 'SLIPWAY_E0114', cause: 'A release, --env flag or spec file names an environment the app does not define.', fix: 'Use one of the environments the message lists, or add an Environment with that name to the app.' },
  UNKNOWN_MODEL: { id: 'SLIPWAY_E0115', cause: 'A release names a model that no application in its environment deploys.', fix: 'Check the model name against the ones the message lists.' },
  DUPLICATE_ENVIRONMENT: { id: 'SLIPWAY_E0116', cause: 'Two platforms define an environment with the same name in one config repository.', fix: 'Rename one of the environments.' },
  DUPLICATE_APPLICATION: { id: 'SLIPWAY_E0117', cause: 'Two charts in one environment have the same id, so they would write the same folder and Argo CD Application.', fix: 'Give the charts different ids.' },
  DUPLICATE_OBJECT: { id: 'SLIPWAY_E0118', cause: 'Two objects of one application have the same kind, namespace and name.', fix: 'Rename one of the objects (the message names both construct paths).' },
  INVALID_APPLICATION_NAME: { id: 'SLIPWAY_E0119', cause: 'A chart id is not a DNS-1123 label or makes an Argo CD Application name longer than 63 characters.', fix: 'Use a shorter chart id of lower-case letters, digits and "-".' },
  NOT_IN_PLATFORM: { id: 'SLIPWAY_E0121', cause: 'A construct that must live inside a Platform (an Environment, a ModelDeployment) was created outside one.', fix: "Create it under new Platform(app, 'name', { repoURL })." },
  NOT_IN_ENVIRONMENT: { id: 'SLIPWAY_E0122', cause: 'A construct that must live inside an Environment was created directly under a Platform or App.', fix: "Create it under new Environment(platform, 'staging')." },
  VALIDATION_FAILED: { id: 'SLIPWAY_E0120', cause: 'Generated objects do not validate against their upstream JSON Schemas (kubernetes-models, @kubernetes-models/*).', fix: 'Fix the props that produce the fields listed; nothing was written. Kinds without a schema need --allow-kind or allowUnvalidatedKinds.' },

  // E02xx: the config repository and releases
  REPO_NOT_FOUND: { id: 'SLIPWAY_E0201', cause: 'The --repo folder is not a Git repository yet.', fix: 'Run `slipway synth` once to create it, or pass the right --repo.' },
  WRONG_BRANCH: { id: 'SLIPWAY_E0202', cause: 'The config repository has another branch than main checked out.', fix: 'git -C <repo> checkout main, then run again.' },
  LOCAL_EDITS: { id: 'SLIPWAY_E0203', cause: 'The config repository has uncommitted edits that a synth would overwrite.', fix: 'Commit or discard them, or pass --force to overwrite them.' },
  REPO_LOCKED: { id: 'SLIPWAY_E0204', cause: 'Another slipway run holds the config repository lock.', fix: 'Wait for it to finish; if no such process exists, remove the lock file the message names.' },
  INVALID_RELEASE: { id: 'SLIPWAY_E0205', cause: 'A release record (flags or releases/<env>/<model>.yaml) does not match schemas/release.schema.json.', fix: 'Fix the fields the message lists (digests are sha256:<64 hex>, hashes 64 lower-case hex digits).' },
  RELEASE_NOT_FOUND: { id: 'SLIPWAY_E0206', cause: 'promote found no release of the model in the source environment.', fix: 'Run `slipway release` for that environment first.' },
  INVALID_BUILD: { id: 'SLIPWAY_E0207', cause: 'A build file (build.json) does not match schemas/build.schema.json: a field is missing or malformed, a hash is not 64 lower-case hex digits, it names another model, or a location carries credentials.', fix: 'Fix every problem listed by JSON pointer; locations are `image` or a store URI without user info or tokens.' },
  APPROVAL_REQUIRED: { id: 'SLIPWAY_E0208', cause: 'The environment has requireApproval: true and the release or promotion came without an approval.', fix: 'Pass --approved-by NAME (one of the approvers, if listed), or --review to commit on a review branch and open a pull request.' },
  APPROVER_NOT_ALLOWED: { id: 'SLIPWAY_E0209', cause: "--approved-by names someone who is not in the environment's approvers list.", fix: 'Ask one of the approvers the message lists to approve.' },
  NOTHING_TO_REVIEW: { id: 'SLIPWAY_E0210', cause: '--review was asked for a release that main already has.', fix: 'Nothing to do; release another build to review it.' },
  ROLLBACK_TARGET_NOT_FOUND: { id: 'SLIPWAY_E0211', cause: 'rollback --to names a version that never ran in the environment.', fix: 'Pick one of the earlier versions the message lists (slipway history --model M shows them).' },
  NOTHING_TO_ROLL_BACK: { id: 'SLIPWAY_E0212', cause: 'The current release is the only one that ever ran in the environment.', fix: 'Release another build instead; there is no earlier record to restore.' },

  // E03xx: remotes and pushes
  UNSUPPORTED_REMOTE: { id: 'SLIPWAY_E0301', cause: 'The push remote is not an http(s) URL.', fix: 'Use an https:// remote; slipway pushes over HTTP(S) only.' },
  CREDENTIALS_IN_URL: { id: 'SLIPWAY_E0302', cause: 'The push remote URL contains credentials, which would land in logs and Git config.', fix: 'Remove them from the URL and put the token in SLIPWAY_GIT_TOKEN.' },
  REMOTE_NOT_FOUND: { id: 'SLIPWAY_E0303', cause: '--push names a remote the config repository does not have.', fix: 'git -C <repo> remote add <name> <https-url>, or pass --push <https-url>.' },
  REMOTE_AUTH_FAILED: { id: 'SLIPWAY_E0304', cause: 'The remote asked for credentials or refused them.', fix: 'Set SLIPWAY_GIT_TOKEN (and SLIPWAY_GIT_USERNAME if needed) to a token that may push.' },
  REMOTE_FAILED: { id: 'SLIPWAY_E0305', cause: 'Talking to the remote failed (network, TLS, HTTP error).', fix: 'Check the URL and the network; the commit is kept locally, run again.' },
  PUSH_FAILED: { id: 'SLIPWAY_E0306', cause: 'The remote refused the push (e.g. a protected branch or a hook).', fix: 'Read the reason in the message; the commit is kept locally.' },
  PUSH_REJECTED: { id: 'SLIPWAY_E0307', cause: 'The remote moved on during every attempt to rebase and push.', fix: 'Run again; the commit is kept in the local config repository.' },
  REMOTE_REDIRECT: { id: 'SLIPWAY_E0308', cause: 'The remote answered with a redirect; slipway never sends the token to another URL.', fix: 'Configure the final URL (where the redirect points) as the remote.' },
  INSECURE_REMOTE: { id: 'SLIPWAY_E0309', cause: 'The push remote is plain http://, so the token would travel unencrypted.', fix: 'Use an https:// remote, or pass --allow-insecure-http for a test server on a trusted network.' },

  // E04xx: slipway init
  INIT_INVALID_NAME: { id: 'SLIPWAY_E0401', cause: '--platform or --model is not a DNS-1123 label.', fix: 'Use lower-case letters, digits and "-".' },
  INIT_UNREADABLE: { id: 'SLIPWAY_E0402', cause: 'The target folder of slipway init cannot be read.', fix: 'Check its permissions or choose another folder.' },
  INIT_NOT_EMPTY: { id: 'SLIPWAY_E0403', cause: 'slipway init was pointed at a folder that already has files.', fix: 'Choose a new or empty folder.' },
  INIT_INVALID_SOURCE: { id: 'SLIPWAY_E0405', cause: '--slipway-from names a path that does not exist.', fix: 'Pass a slipway checkout or a tarball made by npm pack, or leave the flag out to use the published version.' },
  INIT_WRITE_FAILED: { id: 'SLIPWAY_E0404', cause: 'Writing the scaffold failed (permissions, disk full); what was written was removed.', fix: 'Fix the cause named in the message and run again.' },

  // E05xx: drift baselines and reports
  DRIFT_USAGE: { id: 'SLIPWAY_E0501', cause: 'slipway baseline/drift was given contradictory or invalid options.', fix: 'Follow the message; `slipway baseline --help` lists the options.' },
  DRIFT_FILE_UNREADABLE: { id: 'SLIPWAY_E0502', cause: 'A baseline or thresholds file cannot be read.', fix: 'Check the path and its permissions.' },
  DRIFT_DATA_UNREADABLE: { id: 'SLIPWAY_E0503', cause: 'A data file (CSV/JSONL) cannot be read.', fix: 'Check the path and its permissions.' },
  DRIFT_EMPTY_FILE: { id: 'SLIPWAY_E0504', cause: 'A data, baseline or thresholds file is empty.', fix: 'Pass a file with a header row and data (or a baseline written by slipway baseline).' },
  DRIFT_SYNTAX: { id: 'SLIPWAY_E0505', cause: 'A baseline or thresholds file is not valid JSON/YAML.', fix: 'Fix the syntax at the line and column named.' },
  DRIFT_CSV_SYNTAX: { id: 'SLIPWAY_E0506', cause: 'A CSV data file has a syntax error (e.g. an unterminated quote).', fix: 'Fix the row at the line and column named.' },
  DRIFT_CSV_HEADER: { id: 'SLIPWAY_E0507', cause: 'The CSV header is missing, empty or has duplicate column names.', fix: 'Give every column a unique name in the first row.' },
  DRIFT_JSONL_SYNTAX: { id: 'SLIPWAY_E0508', cause: 'A JSON Lines data file has a line that is not a JSON object.', fix: 'Fix the line named.' },
  DRIFT_RAGGED_ROW: { id: 'SLIPWAY_E0509', cause: 'A CSV row has a different number of fields than the header.', fix: 'Fix the row named (quote fields that contain commas).' },
  DRIFT_WRONG_TYPE: { id: 'SLIPWAY_E0510', cause: 'A value does not match the type of its feature (text in a numeric column).', fix: 'Fix the value, or declare the column with --categorical.' },
  DRIFT_UNKNOWN_FEATURE: { id: 'SLIPWAY_E0511', cause: 'A feature named in flags or a thresholds file is not in the data or baseline.', fix: 'Use one of the feature names the message lists.' },
  DRIFT_NO_VALUES: { id: 'SLIPWAY_E0512', cause: 'A profiled column has no values at all.', fix: 'Drop the column from --features or fix the data.' },
  DRIFT_TOO_MANY_CATEGORIES: { id: 'SLIPWAY_E0513', cause: 'A categorical column has more than 100000 distinct values (likely an identifier).', fix: 'Leave identifiers out of --features, or declare the column --numeric.' },
  DRIFT_BASELINE_INVALID: { id: 'SLIPWAY_E0514', cause: 'A baseline file does not match schemas/baseline-profile.schema.json or is internally inconsistent.', fix: 'Regenerate it with slipway baseline, or fix the field named.' },
  DRIFT_THRESHOLDS_INVALID: { id: 'SLIPWAY_E0515', cause: 'A thresholds file does not match schemas/drift-thresholds.schema.json or names unknown features.', fix: 'Fix the field named.' },
  DRIFT_WRITE_FAILED: { id: 'SLIPWAY_E0516', cause: 'Writing a baseline or report failed.', fix: 'Check the output path, its permissions and free space.' },
  DRIFT_BASELINE_NOT_PROFILE: { id: 'SLIPWAY_E0517', cause: 'The --baseline file is not a baseline profile (often a data file: --baseline and --data swapped).', fix: 'Pass the JSON written by slipway baseline as --baseline and the CSV/JSONL as --data.' },
  DRIFT_NON_FINITE: { id: 'SLIPWAY_E0518', cause: 'A numeric cell of the training data overflows a 64-bit float or spells infinity (e.g. 1e999).', fix: 'Fix or remove the value at the file:line:column named; a baseline needs finite numbers.' },
  DRIFT_WRONG_DATA: { id: 'SLIPWAY_E0519', cause: "None of the baseline's features is a column of the data file: it is data of another model or the wrong file.", fix: 'Pass the data the baseline was profiled for (the message lists both column sets).' },
  DRIFT_RUNTIME_UNREACHABLE: { id: 'SLIPWAY_E0520', cause: 'slipway drift report --from-runtime could not connect to the runtime URL.', fix: 'Check the URL (e.g. kubectl port-forward to the runtime) and that the runtime is up.' },
  DRIFT_RUNTIME_ERROR: { id: 'SLIPWAY_E0521', cause: 'The runtime answered the drift history request with an error or with something that is not JSON.', fix: 'Check that the URL points at a slipway runtime and that the model serves a baseline.' },

  // E06xx: the serving runtime
  RUNTIME_NOT_INSTALLED: { id: 'SLIPWAY_E0601', cause: 'slipway serve needs onnxruntime-node and @grpc/proto-loader, optional peer dependencies that are not installed.', fix: 'ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.29.0 @grpc/proto-loader (CPU; see README "Serving").' },
  RUNTIME_NO_MODELS: { id: 'SLIPWAY_E0602', cause: 'slipway serve was given no model repository and no --model.', fix: 'Pass --model-repository DIR (or SLIPWAY_MODEL_REPOSITORY) or --model NAME=PATH.onnx.' },
  RUNTIME_REPOSITORY_NOT_FOUND: { id: 'SLIPWAY_E0603', cause: 'The model repository is not a directory.', fix: 'Pass the folder that holds <model>/<version>/model.onnx.' },
  RUNTIME_MODEL_NAME_INVALID: { id: 'SLIPWAY_E0604', cause: 'A model folder name has characters the inference protocol does not allow in URLs.', fix: "Rename it to letters, digits, '_', '.', '-'." },
  RUNTIME_MODEL_FLAG_INVALID: { id: 'SLIPWAY_E0605', cause: '--model is not NAME=PATH.onnx.', fix: 'Pass --model NAME=PATH.onnx.' },
  RUNTIME_MODEL_DUPLICATE: { id: 'SLIPWAY_E0606', cause: '--model names a model the repository already has.', fix: 'Choose another name.' },
  RUNTIME_MODEL_CONFIG_INVALID: { id: 'SLIPWAY_E0607', cause: "A model's config.json is not valid JSON or does not match schemas/model-config.schema.json.", fix: 'Fix the field named.' },
  RUNTIME_BAD_REQUEST: { id: 'SLIPWAY_E0610', cause: 'An inference request (HTTP 400) is malformed: shape, datatype or data do not match the model.', fix: 'Send inputs as GET /v2/models/<name> describes them.' },
  RUNTIME_NOT_FOUND: { id: 'SLIPWAY_E0611', cause: 'HTTP 404: no such model, version or route.', fix: 'GET /v2/repository/index lists what is served.' },
  RUNTIME_METHOD_NOT_ALLOWED: { id: 'SLIPWAY_E0612', cause: 'HTTP 405: the route does not accept this method.', fix: 'Use the method of the Open Inference Protocol route.' },
  RUNTIME_PAYLOAD_TOO_LARGE: { id: 'SLIPWAY_E0613', cause: 'HTTP 413: the request body is larger than --max-body-bytes.', fix: 'Send smaller batches or raise --max-body-bytes.' },
  RUNTIME_CLIENT_CLOSED: { id: 'SLIPWAY_E0614', cause: 'HTTP 499: the client went away before the answer.', fix: 'Raise the client timeout or lower the load.' },
  RUNTIME_INTERNAL: { id: 'SLIPWAY_E0615', cause: 'HTTP 500: inference failed inside onnxruntime.', fix: 'Check the server log for the model error.' },
  RUNTIME_UNAVAILABLE: { id: 'SLIPWAY_E0616', cause: 'HTTP 503: the model is not ready or the server is shutting down.', fix: 'Retry after /v2/health/ready answers 200.' },
  RUNTIME_ERROR: { id: 'SLIPWAY_E0617', cause: 'An inference error with an HTTP status slipway has no specific code for.', fix: 'Read the message and the server log.' },
  RUNTIME_PORT_IN_USE: { id: 'SLIPWAY_E0622', cause: 'Another process already listens on the --port, --grpc-port or --metrics-port given.', fix: 'Stop that process or choose another port.' },
  RUNTIME_PORT_DENIED: { id: 'SLIPWAY_E0623', cause: 'The runtime may not bind the port (below 1024 without the capability).', fix: 'Use a port above 1024 (the container image serves 8080 and 8081).' },
  RUNTIME_HOST_UNAVAILABLE: { id: 'SLIPWAY_E0624', cause: '--host names an address this machine does not have.', fix: 'Use 0.0.0.0, 127.0.0.1 or an address of this machine.' },
  RUNTIME_LISTEN_FAILED: { id: 'SLIPWAY_E0625', cause: 'Opening a listening socket failed for another reason.', fix: 'Read the system error quoted in the message.' },
  RUNTIME_PORT_CONFLICT: { id: 'SLIPWAY_E0626', cause: 'Two of --port, --grpc-port and --metrics-port are the same.', fix: 'Give each listener its own port.' },
  RUNTIME_UNSUPPORTED_ENCODING: { id: 'SLIPWAY_E0618', cause: 'HTTP 415: the request body has a Content-Encoding other than gzip or identity.', fix: 'Send the body uncompressed or gzip-compressed.' },
  RUNTIME_INTEGRITY_INVALID: { id: 'SLIPWAY_E0620', cause: '--expected-sha256 / SLIPWAY_EXPECTED_SHA256 is not JSON of model name to file name to 64-hex sha256.', fix: 'Pass e.g. {"fraud-detector":{"model.onnx":"<64 hex>","baseline.json":"<64 hex>"}} (ModelServing renders it).' },
  RUNTIME_INTEGRITY_MODEL_MISSING: { id: 'SLIPWAY_E0621', cause: 'Expected hashes were given for a model the model repository does not serve.', fix: 'Serve the repository the pod was rendered for, or fix the model name in the expected hashes.' },
  // E065x–E069x: the runtime at scale (model control, memory budget)
  RUNTIME_LOAD_MODEL_UNKNOWN: { id: 'SLIPWAY_E0650', cause: '--load-model names a model the repository (and --model) does not serve.', fix: 'Use a model name GET /v2/repository/index lists, or add the model to the repository.' },
  RUNTIME_LOAD_MODEL_WITHOUT_EXPLICIT: { id: 'SLIPWAY_E0651', cause: '--load-model only means something under --model-control-mode explicit; in mode none every model loads.', fix: 'Add --model-control-mode explicit, or drop --load-model.' },
  RUNTIME_MEMORY_BUDGET_EXCEEDED: { id: 'SLIPWAY_E0652', cause: 'A model needs more bytes (its model file once per session) than the whole --model-memory-budget.', fix: 'Raise --model-memory-budget, or give the model fewer sessions ("workers" in its config.json).' },
  RUNTIME_MODEL_NOT_LOADED: { id: 'SLIPWAY_E0653', cause: 'HTTP 503: the model is in the repository but not loaded (unloaded on request, or never loaded under --model-control-mode explicit).', fix: 'POST /v2/repository/models/<name>/load, or start with --load-model <name>.' },

  // E07xx: pipeline steps (slipway pipeline <step>) and their containers
  PIPELINE_OUTPUT_MISSING: { id: 'SLIPWAY_E0701', cause: 'The training step did not write model.onnx and metrics.json into its output folder.', fix: 'Make the training command or notebook write both files into the output directory it is given.' },
  PIPELINE_GATES_INVALID: { id: 'SLIPWAY_E0702', cause: '--gates is not a JSON array of {metric, op, value}.', fix: 'Fix the gates (TrainingPipeline renders them from its props).' },
  PIPELINE_METRICS_INVALID: { id: 'SLIPWAY_E0703', cause: 'metrics.json cannot be read or is not a JSON object of metric names to numbers.', fix: 'Make training write {"auc": 0.93, ...} to metrics.json.' },
  PIPELINE_GATE_FAILED: { id: 'SLIPWAY_E0704', cause: 'A metric failed its quality gate, so the build is not packaged or released.', fix: 'Improve the model or, deliberately, the gate; the message names each failed gate with its value.' },
  PIPELINE_VERSION_INVALID: { id: 'SLIPWAY_E0705', cause: 'The version cannot name a model repository folder.', fix: 'Use letters, digits, ".", "_" and "-" (e.g. 1.4.0).' },
  PIPELINE_DIGEST_INVALID: { id: 'SLIPWAY_E0706', cause: 'The digest given for the pushed image is not sha256:<64 hex>.', fix: 'Pass the digest buildah push wrote (--digestfile).' },
  PIPELINE_SIGNATURE_INVALID: { id: 'SLIPWAY_E0707', cause: '--signature is not JSON {inputs, outputs} of tensor specs.', fix: 'Fix the signature (the Model construct renders it).' },
  PIPELINE_SMOKE_TEST_FAILED: { id: 'SLIPWAY_E0708', cause: 'The built image did not become ready, or its answer to a real inference request had the wrong datatype or shape.', fix: 'Read the last answer in the message and the container log; fix the model or its signature.' },
  PIPELINE_REPORT_INVALID: { id: 'SLIPWAY_E0709', cause: '--task-statuses is not a JSON object of task name to status.', fix: 'Pass the Tekton $(tasks.status) values the report step gets.' },
  PIPELINE_RELEASE_FAILED: { id: 'SLIPWAY_E0710', cause: 'The release step could not prepare the platform app it releases with (npm ci failed).', fix: 'Read the npm output; the config repository is untouched.' },
  PIPELINE_TOOL_MISSING: { id: 'SLIPWAY_E0711', cause: 'A pipeline step needs a tool (buildah, podman, git) that is not installed.', fix: 'Install the Debian package the message names.' },
  CONTAINER_FAILED: { id: 'SLIPWAY_E0712', cause: 'A buildah or podman command failed.', fix: "Read the tool's own message quoted in the error (as root with runc and the cgroupfs manager, see containers/containers.conf)." },
  CONTAINER_NOT_READY: { id: 'SLIPWAY_E0713', cause: 'The image, run the way the cluster runs it (read-only root, random UID, no capabilities), never answered /v2/health/ready.', fix: 'Read the container log tail in the message.' },

  // E072x: the local pipeline runner (slipway pipeline run --local)
  PIPELINE_NOT_FOUND: { id: 'SLIPWAY_E0720', cause: 'The app defines no TrainingPipeline (or more than one) for the model.', fix: 'Run it for one of the models the message lists, or add a TrainingPipeline for this one.' },
  PIPELINE_CYCLE: { id: 'SLIPWAY_E0721', cause: 'Tasks of the pipeline wait on each other (runAfter or result references form a cycle).', fix: "Break the cycle in the pipeline's tasks." },
  PIPELINE_REFERENCE_UNRESOLVED: { id: 'SLIPWAY_E0722', cause: 'A $(params…), $(tasks…results…) or $(workspaces…) reference has no value in the run.', fix: 'Pass the parameter with --param, or fix the reference in the task.' },
  PIPELINE_PARAM_UNKNOWN: { id: 'SLIPWAY_E0723', cause: '--param names a parameter the pipeline does not declare.', fix: 'Use one of the parameters the message lists.' },
  PIPELINE_ENV_UNKNOWN: { id: 'SLIPWAY_E0724', cause: '--env names an environment the app does not define.', fix: 'Use one of the environments the message lists.' },
  PIPELINE_SOURCE_INVALID: { id: 'SLIPWAY_E0725', cause: '--source is neither a folder nor a Git URL.', fix: 'Pass the model source folder (e.g. examples/fraud-detector) or a clonable URL.' },
  PIPELINE_CONFIG_REPO_MISSING: { id: 'SLIPWAY_E0726', cause: '--repo has no config repository to release into.', fix: 'Create it first with slipway synth --repo DIR.' },
  PIPELINE_STEP_FAILED: { id: 'SLIPWAY_E0727', cause: 'A step of the local run exited non-zero; the run stopped and released nothing after it.', fix: "Read the step's log named in the message; the config repository is unchanged unless the release step had finished." },
  PIPELINE_STEP_UNSUPPORTED: { id: 'SLIPWAY_E0728', cause: 'A step runs an image and script the local runner cannot map to a host tool.', fix: 'Run that pipeline in the cluster (Tekton), or express the step as a slipway pipeline command.' },
  PIPELINE_INTERRUPTED: { id: 'SLIPWAY_E0729', cause: 'The local run was interrupted (Ctrl-C or SIGTERM); its containers and workspace were removed.', fix: 'Run it again.' },

  // E08xx: notebooks
  NOTEBOOK_NOT_FOUND: { id: 'SLIPWAY_E0801', cause: 'The training notebook cannot be read.', fix: 'Check the notebook path relative to the model source.' },
  NOTEBOOK_INVALID: { id: 'SLIPWAY_E0802', cause: 'The notebook is not JSON in nbformat 4.', fix: 'Save it with Jupyter 4+ (an .ipynb file).' },
  NOTEBOOK_PARAMETER_INVALID: { id: 'SLIPWAY_E0803', cause: 'A notebook parameter has an invalid name or value.', fix: 'Use Python identifiers as names and JSON-representable values.' },
  NOTEBOOK_EXECUTOR_MISSING: { id: 'SLIPWAY_E0804', cause: "Neither papermill nor Jupyter's executor (with Debian's python3) is installed.", fix: 'Install the Debian packages jupyter-nbconvert python3-nbclient python3-ipykernel (or papermill).' },
  NOTEBOOK_FAILED: { id: 'SLIPWAY_E0805', cause: 'A cell of the notebook raised, so the run stopped.', fix: 'Read the traceback tail in the message; run the notebook in Jupyter with the same parameters.' },

  // E10xx: fleets
  FLEET_NO_CANARY: { id: 'SLIPWAY_E1001', cause: "A Fleet's first wave does not name its sites, so there is no canary: the first wave would be a share of the whole fleet.", fix: "Start waves with { name: 'canary', sites: [...] } naming one or a few sites." },
  FLEET_SITE_IN_TWO_WAVES: { id: 'SLIPWAY_E1002', cause: 'A site is listed in two waves of a Fleet.', fix: 'Keep each site in exactly one wave (later percentage and selector waves already skip sites of earlier waves).' },
  FLEET_WAVE_EMPTY: { id: 'SLIPWAY_E1003', cause: 'A wave of a Fleet selects no site: its selector matches no remaining site, or its percentage is already reached by earlier waves.', fix: 'Remove the wave, or change its selector or percentage.' },
  FLEET_PROMETHEUS_UNREACHABLE: { id: 'SLIPWAY_E1004', cause: 'slipway fleet advance could not query Prometheus (no URL, connection refused, timeout, or an error answer), so it cannot judge the wave; nothing was committed.', fix: 'Pass --prometheus with the query URL of the Prometheus or Thanos that sees every site, or set prometheusUrl on the Fleet.' },
  FLEET_NOT_FOUND: { id: 'SLIPWAY_E1005', cause: 'The config repository has no fleets/<fleet>/fleet.yaml for the fleet named.', fix: 'Use one of the fleets the message lists, or run slipway synth after adding the Fleet to the app.' },
  FLEET_UNKNOWN_MODEL: { id: 'SLIPWAY_E1006', cause: 'The fleet does not serve the model given with --model.', fix: 'Use one of the models the message lists.' },
  FLEET_NOT_STARTED: { id: 'SLIPWAY_E1007', cause: "The model has no release in the fleet's canary wave, so there is no rollout to advance.", fix: 'slipway release --env <fleet>-<canary wave> --model M --build build.json starts one.' },
  FLEET_ROLLOUT_HALTED: { id: 'SLIPWAY_E1008', cause: 'The rollout was halted by a failed gate or aborted; advance refuses to continue it on its own.', fix: 'Fix the failing sites the message names and run slipway fleet resume, or release another build into the canary wave.' },
  FLEET_ROLLOUT_DONE: { id: 'SLIPWAY_E1009', cause: 'pause or resume was asked for a rollout that already reached every wave.', fix: 'Nothing to do; release a new build into the canary wave to start the next rollout.' },
  FLEET_UNKNOWN_SITE: { id: 'SLIPWAY_E1010', cause: "A wave names a site that is not in the fleet's inventory, or whose labels do not match the fleet's selector.", fix: "Add the site to sites with labels matching the selector, or remove it from the wave." },
  FLEET_INVALID_WAVE: { id: 'SLIPWAY_E1011', cause: 'A wave sets none or several of sites, percent and selector, or a percent outside (0, 100].', fix: 'Give each wave exactly one of sites, percent (1-100) or selector.' },
  FLEET_SITE_IN_NO_WAVE: { id: 'SLIPWAY_E1012', cause: 'Sites of the fleet are in no wave, so a rollout would never reach them.', fix: 'End the waves with { percent: 100 } (or a selector covering the rest).' },
  FLEET_INVALID_GROUPS: { id: 'SLIPWAY_E1013', cause: 'A site of the fleet matches no group, or more than one.', fix: "Change the groups' selectors so each site matches exactly one." },

  // E11xx: supply chain: keys, signatures, provenance, the OCI registry
  SUPPLY_CHAIN_KEY_INVALID: { id: 'SLIPWAY_E1101', cause: 'The signing key or a trusted public key is missing, unreadable or not an ECDSA P-256 PEM key.', fix: 'Create a pair with `slipway pipeline keygen`; pass the private key with --key / SLIPWAY_SIGNING_KEY_FILE and the public key with --trusted-keys / SLIPWAY_TRUSTED_KEYS.' },
  SUPPLY_CHAIN_UNSIGNED: { id: 'SLIPWAY_E1102', cause: 'A signature or attestation the build must carry (image.sigstore.json, provenance.sigstore.json, model.sig) is missing.', fix: 'Run the pipeline with signing (its package task signs and attests); never release a build packaged without it.' },
  SUPPLY_CHAIN_SIGNATURE_INVALID: { id: 'SLIPWAY_E1103', cause: 'A signature does not verify: the signed payload or the signature was changed, or the bundle is malformed.', fix: 'Treat the build as tampered with: rebuild it with the pipeline; the message names the bundle.' },
  SUPPLY_CHAIN_UNTRUSTED_KEY: { id: 'SLIPWAY_E1104', cause: 'A signature was made by a key that is not among the trusted keys.', fix: 'Sign with the platform key, or add its public key to the trusted keys deliberately.' },
  SUPPLY_CHAIN_MISMATCH: { id: 'SLIPWAY_E1105', cause: 'A valid signature or provenance is about something other than this build (another image digest, model sha256, commit or PipelineRun).', fix: 'Release the build the signatures were made for; the message lists each difference.' },
  REGISTRY_AUTH_FAILED: { id: 'SLIPWAY_E1110', cause: 'The image registry refused the credentials (HTTP 401/403).', fix: 'Fix the auth file (REGISTRY_AUTH_FILE / --registry-auth-file); credentials never go on the command line.' },
  REGISTRY_UNREACHABLE: { id: 'SLIPWAY_E1111', cause: 'The image registry cannot be reached or its TLS certificate is not trusted.', fix: 'Start the registry, or pass the folder holding its CA (--registry-cert-dir).' },
  REGISTRY_PUSH_FAILED: { id: 'SLIPWAY_E1112', cause: 'Pushing an image or a signature to the registry failed for another reason; nothing was recorded.', fix: "Read the tool's message quoted in the error and run the pipeline again." },
  MODEL_OCI_REFERENCE_INVALID: { id: 'SLIPWAY_E1113', cause: 'An oci:// model location is not `oci://registry/repository@sha256:<64 hex>`: a tag instead of a digest, credentials in it, or another shape.', fix: 'Use the digest `slipway pipeline push-model` printed; credentials come from the registry auth file, never the URI.' },
  MODEL_ARTIFACT_INVALID: { id: 'SLIPWAY_E1114', cause: 'The oci:// model is not in the registry, is not a CNCF ModelPack artifact slipway can unpack, or its files are not what the manifest lists.', fix: 'Push the model folder with `slipway pipeline push-model` and record the digest it printed; the message names the manifest, layer or file.' },

  // E12xx: model quality
  CHALLENGER_INVALID: { id: 'SLIPWAY_E1202', cause: 'A challenger command names no challenger, the champion itself, or a metric the runtime does not measure live.', fix: 'Record a challenger with slipway release --challenger --build build.json; compare on accuracy, precision, recall, auc, roc_auc, mae or rmse.' },
  CHALLENGER_NOT_BETTER: { id: 'SLIPWAY_E1203', cause: 'The challenger does not beat the champion by the margin on its live metric, or either has too few labels; nothing was written.', fix: 'Wait for more labelled traffic, or keep the champion; the message gives both values and sample counts.' },
  CHALLENGER_EVIDENCE_MISSING: { id: 'SLIPWAY_E1204', cause: 'Prometheus could not be queried, or holds no live metric for the champion or challenger version.', fix: 'Check --prometheus-url, that both versions are scraped, and that callers send feedback labels.' },
  RELEASE_FIXES_INVALID: { id: 'SLIPWAY_E1201', cause: '`slipway release --fixes` names no version, or the version being released itself.', fix: 'Pass the version(s) of the model this release fixes, e.g. --fixes 1.3.0; slipway kpis counts them as failed and this release as rework.' },

  // E13xx: platforms people already run (TypeScript versions, KServe, Kubeflow Trainer and Kueue)
  TYPESCRIPT_UNSUPPORTED: { id: 'SLIPWAY_E1301', cause: "The project's typescript package is a major version the pre-synth type-check does not support.", fix: 'Install TypeScript 5, 6 or 7 (npm install --save-dev typescript@latest), or pass --no-type-check.' },
  TRAIN_JOB_FAILED: { id: 'SLIPWAY_E1321', cause: 'The TrainJob the train step created reported Failed, or completed without writing metrics.json as a JSON object into the shared workspace.', fix: "Read the trainer pods' logs (the message names the kubectl command); the trainer must write model.onnx and metrics.json into $OUTPUT_DIR." },
  TRAIN_JOB_API_FAILED: { id: 'SLIPWAY_E1322', cause: 'The train step could not create or read its TrainJob through the Kubernetes API (no service account token, Trainer not installed, RBAC refused, API unreachable).', fix: 'Install Kubeflow Trainer v2; keep the pipeline Role slipway renders (create/get trainjobs); run the step in a pod.' },
} as const satisfies Record<string, CatalogEntry>;

export type CatalogedCode = keyof typeof ERROR_CATALOG;

/** The catalog entry of a symbolic code, if it has one. */
export function catalogEntry(code: string): CatalogEntry | undefined {
  return Object.hasOwn(ERROR_CATALOG, code) ? ERROR_CATALOG[code as CatalogedCode] : undefined;
}

/** The stable id of a code (`SLIPWAY_E####`); an uncataloged code falls back to the internal-error id. */
export function errorId(code: string): string {
  return (catalogEntry(code) ?? ERROR_CATALOG.INTERNAL_ERROR).id;
}
