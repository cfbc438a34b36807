// One reading of a release record, whatever its generation (legacy records are migrated by
// releases.ts first). Governance code (model cards, KPIs, rollback, history) reads records only
// through here, without schema validation, so a record broken by hand is still listed; every
// lineage field is optional.
import { migrateLegacyRecord } from './releases.js';
import { BUILD_TRIGGERS, type BuildTrigger, type ChallengerDecision } from '../vocabulary/build.js';

export type Trigger = BuildTrigger;

export interface RecordView {
  readonly environment: string;
  readonly model: string;
  readonly version: string;
  readonly modelSha256?: string;
  readonly modelLocation?: string;
  readonly imageDigest?: string;
  readonly baselineSha256?: string;
  readonly baselineLocation?: string;
  readonly source?: { readonly repository?: string; readonly commit?: string; readonly committedAt?: string };
  readonly trainingDataSha256?: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly trigger?: Trigger;
  readonly pipelineRun?: string;
  readonly builtAt?: string;
  readonly approvedBy: readonly string[];
  /** Version of the challenger served beside this build. */
  readonly challengerVersion?: string;
  /** Why this build, once the challenger, replaced the champion. */
  readonly challengerDecision?: ChallengerDecision;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Reads a parsed record (any generation) defensively; throws only when it names no model. */
export function viewRecord(value: unknown): RecordView {
  const r = (migrateLegacyRecord(value) ?? {}) as Record<string, unknown>;
  const environment = str(r.environment);
  const model = str(r.model);
  const version = str(r.version) ?? (typeof r.version === 'number' ? String(r.version) : undefined);
  if (!environment || !model || !version) throw new Error('not a release record: environment, model and version are required');
  const src = r.source && typeof r.source === 'object' ? (r.source as Record<string, unknown>) : undefined;
  const source = src
    ? { ...opt('repository', str(src.repository)), ...opt('commit', str(src.commit)), ...opt('committedAt', str(src.committedAt)) }
    : undefined;
  const metrics: Record<string, number> = {};
  if (r.metrics && typeof r.metrics === 'object') {
    for (const [k, v] of Object.entries(r.metrics as Record<string, unknown>)) if (typeof v === 'number' && Number.isFinite(v)) metrics[k] = v;
  }
  const trigger: Trigger | undefined = (BUILD_TRIGGERS as readonly unknown[]).includes(r.trigger) ? (r.trigger as Trigger) : undefined;
  const approvedBy = Array.isArray(r.approvedBy) ? r.approvedBy.filter((a): a is string => typeof a === 'string') : typeof r.approvedBy === 'string' ? [r.approvedBy] : [];
  return {
    environment,
    model,
    version,
    ...opt('modelSha256', str(r.modelSha256)),
    ...opt('modelLocation', str(r.modelLocation)),
    ...opt('imageDigest', str(r.imageDigest)),
    ...opt('baselineSha256', str(r.baselineSha256)),
    ...opt('baselineLocation', str(r.baselineLocation)),
    ...(source && Object.keys(source).length > 0 ? { source } : {}),
    ...opt('trainingDataSha256', str(r.trainingDataSha256)),
    metrics,
    ...opt('trigger', trigger),
    ...opt('pipelineRun', str(r.pipelineRun)),
    ...opt('challengerVersion', r.challenger && typeof r.challenger === 'object' ? str((r.challenger as Record<string, unknown>).version) : undefined),
    ...opt('challengerDecision', isDecision(r.challengerDecision) ? r.challengerDecision : undefined),
    ...opt('builtAt', str(r.builtAt)),
    approvedBy,
  };
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Whether two records describe the same build (ignoring environment and approvals). */
export function sameBuild(a: RecordView, b: RecordView): boolean {
  return a.version === b.version && a.modelSha256 === b.modelSha256 && a.imageDigest === b.imageDigest;
}

function isDecision(v: unknown): v is ChallengerDecision {
  if (!v || typeof v !== 'object') return false;
  const d = v as Record<string, unknown>;
  return typeof d.replaced === 'string' && typeof d.metric === 'string' && typeof d.champion === 'number' && typeof d.challenger === 'number' && typeof d.margin === 'number';
}
