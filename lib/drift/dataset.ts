import { basename } from 'node:path';
import {
  accumulatorFor,
  compareFeature,
  CurrentNumeric,
  resolveDriftShare,
  resolveThresholds,
  summarize,
  type CurrentAccumulator,
  type DriftReport,
  type FeatureReport,
  type QualityFinding,
} from './compare.js';
import { SlipwayError } from '../errors.js';
import {
  CategoricalAccumulator,
  DEFAULT_TOP_K,
  NumericAccumulator,
  PROFILE_KIND,
  PROFILE_VERSION,
  type BaselineProfile,
  type FeatureProfile,
  type ThresholdConfig,
} from './profile.js';
import { dataError, openTable, type Cell, type Table, type TableRow } from './table.js';

/** Cell texts read as a missing value (pandas' common NA spellings). */
export const MISSING_TOKENS: ReadonlySet<string> = new Set(['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', 'None']);
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** Infinity as numpy/pandas and JavaScript write it. */
const INFINITY = /^([+-]?)(?:inf|infinity)$/i;

export type ColumnType = 'numeric' | 'categorical';

/**
 * undefined: not a number (a wrong type for a numeric column). A number that overflows a
 * double (1e999) or spells infinity comes back as ±Infinity: callers reject or count it,
 * never store it (JSON would write it as null).
 */
export function numericValue(cell: Cell): number | null | undefined {
  if (cell === null) return null;
  if (typeof cell === 'number') return cell;
  if (typeof cell === 'boolean') return undefined;
  const text = cell.trim();
  if (MISSING_TOKENS.has(text)) return null;
  if (NUMBER.test(text)) return Number(text);
  const inf = INFINITY.exec(text);
  return inf ? (inf[1] === '-' ? -Infinity : Infinity) : undefined;
}

export function categoricalValue(cell: Cell): string | null {
  if (cell === null) return null;
  const text = typeof cell === 'string' ? cell.trim() : String(cell);
  return MISSING_TOKENS.has(text) ? null : text;
}

export interface Progress {
  readonly bytesRead: number;
  readonly size: number;
  readonly rows: number;
  readonly pass: number;
  readonly passes: number;
}

export interface BaselineOptions {
  /** Model input columns in tensor order; default: every column not named in `outputs`. */
  readonly features?: readonly string[];
  /** Columns profiled as categories whatever their values look like. */
  readonly categorical?: readonly string[];
  /** Columns that must be numbers (skips inference for them). */
  readonly numeric?: readonly string[];
  /** Columns holding model outputs, in output tensor order (prediction drift). */
  readonly outputs?: readonly string[];
  /** The label column: profiled for target drift (as categories unless listed in `numeric`). */
  readonly label?: string;
  /** A column of predicted labels: with `label`, the training accuracy goes into the profile. */
  readonly prediction?: string;
  readonly topK?: number;
  readonly inputTensor?: string;
  readonly outputTensor?: string;
  readonly onProgress?: (progress: Progress) => void;
  /** Rank sketch capacity per column; exact up to this many values. */
  readonly sketchCapacity?: number;
}

/** At most 12 names, each cut at 40 characters: a wrong file must not flood the terminal. */
export function columnList(columns: readonly string[]): string {
  const cut = columns.slice(0, 12).map((c) => (c.length > 40 ? `${c.slice(0, 39)}…` : c));
  return columns.length > 12 ? `${cut.join(', ')} and ${columns.length - 12} more` : cut.join(', ');
}

function indexColumns(table: Table, names: readonly string[], flag: string): number[] {
  return names.map((name) => {
    const index = table.columns.indexOf(name);
    if (index === -1) {
      throw dataError('DRIFT_UNKNOWN_FEATURE', table.file, 1, undefined,
        `column "${name}" named in ${flag} is missing from the data: the ${table.format === 'csv' ? 'header' : 'first record'} has columns ${columnList(table.columns)}`);
    }
    return index;
  });
}

function nonFiniteError(file: string, row: TableRow, index: number, name: string, cell: Cell): Error {
  return dataError('DRIFT_NON_FINITE', file, row.line, row.columnOf(index),
    `column "${name}": ${typeof cell === 'string' ? JSON.stringify(cell.trim().slice(0, 40)) : String(cell)} is not a finite number (it overflows a 64-bit float or spells infinity): fix or remove the value; a baseline never stores it`);
}

/** Labels and predictions compare as numbers when both are numbers (1 equals 1.0), else as text. */
function sameLabel(a: Cell, b: Cell): boolean | undefined {
  const x = categoricalValue(a);
  const y = categoricalValue(b);
  if (x === null || y === null) return undefined;
  const nx = numericValue(x);
  const ny = numericValue(y);
  return typeof nx === 'number' && typeof ny === 'number' ? nx === ny : x === y;
}

const PROGRESS_EVERY = 16_384;

/** Pass 1 when some column types are not given: numeric iff every non-missing value is a number. */
async function inferTypes(file: string, columns: readonly string[], passes: number, onProgress?: (p: Progress) => void): Promise<Map<string, ColumnType>> {
  const table = await openTable(file);
  const indices = indexColumns(table, columns, 'the columns to profile');
  const numeric = columns.map(() => true);
  const seen = columns.map(() => false);
  let rows = 0;
  for await (const row of table.rows()) {
    for (let k = 0; k < indices.length; k++) {
      if (!numeric[k]) continue;
      const cell = row.cells[indices[k]!]!;
      const value = numericValue(cell);
      if (value === undefined) numeric[k] = false;
      else if (value !== null) seen[k] = true;
    }
    if (++rows % PROGRESS_EVERY === 0) onProgress?.({ bytesRead: table.bytesRead, size: table.size, rows, pass: 1, passes });
  }
  if (rows === 0) throw dataError('DRIFT_EMPTY_FILE', file, 2, 1, 'no data rows after the header');
  return new Map(columns.map((name, k) => [name, numeric[k] && seen[k] ? 'numeric' : 'categorical']));
}

type ProfileAccumulator = NumericAccumulator | CategoricalAccumulator;

function tooManyCategories(file: string, row: TableRow, index: number, name: string): Error {
  return dataError('DRIFT_TOO_MANY_CATEGORIES', file, row.line, row.columnOf(index),
    `column "${name}" has more than 100000 distinct values: is it an identifier rather than a category?`);
}

function wrongType(file: string, row: TableRow, index: number, name: string, cell: Cell): Error {
  return dataError('DRIFT_WRONG_TYPE', file, row.line, row.columnOf(index),
    `feature "${name}" is numeric: expected a number or a missing value, got ${JSON.stringify(cell)}`);
}

/** Streams `file` (once, or twice when types must be inferred) into a bounded baseline profile. */
export async function buildBaseline(file: string, options: BaselineOptions = {}): Promise<BaselineProfile> {
  const probe = await openTable(file);
  const outputs = [...(options.outputs ?? [])];
  indexColumns(probe, outputs, '--outputs');
  const label = options.label;
  const prediction = options.prediction;
  if (label !== undefined) indexColumns(probe, [label], '--label');
  if (prediction !== undefined) indexColumns(probe, [prediction], '--prediction');
  if (prediction !== undefined && label === undefined) throw dataError('DRIFT_USAGE', file, 1, undefined, '--prediction needs --label: accuracy compares the two columns');
  const notInputs = new Set([...outputs, ...(label !== undefined ? [label] : []), ...(prediction !== undefined ? [prediction] : [])]);
  const features = options.features ? [...options.features] : probe.columns.filter((c) => !notInputs.has(c));
  indexColumns(probe, features, '--features');
  indexColumns(probe, options.categorical ?? [], '--categorical');
  indexColumns(probe, options.numeric ?? [], '--numeric');
  const both = (options.categorical ?? []).filter((c) => options.numeric?.includes(c));
  if (both.length > 0) throw dataError('DRIFT_USAGE', file, 1, undefined, `column "${both[0]}" is given as both --categorical and --numeric`);
  const extraCategorical = (options.categorical ?? []).filter((c) => !features.includes(c) && !outputs.includes(c));
  const profiled = [...new Set([...features, ...extraCategorical, ...outputs, ...(label !== undefined ? [label] : [])])];
  const given = new Map<string, ColumnType>();
  if (label !== undefined && !options.numeric?.includes(label)) given.set(label, 'categorical');
  for (const c of options.categorical ?? []) given.set(c, 'categorical');
  for (const c of options.numeric ?? []) given.set(c, 'numeric');
  const untyped = profiled.filter((c) => !given.has(c));
  const passes = untyped.length > 0 ? 2 : 1;
  const types = new Map(given);
  if (untyped.length > 0) for (const [name, type] of await inferTypes(file, untyped, passes, options.onProgress)) types.set(name, type);

  const table = await openTable(file);
  const indices = indexColumns(table, profiled, 'the columns to profile');
  const accumulators: ProfileAccumulator[] = profiled.map((name) =>
    types.get(name) === 'numeric' ? new NumericAccumulator(options.sketchCapacity) : new CategoricalAccumulator());
  const labelIndex = label !== undefined ? table.columns.indexOf(label) : -1;
  const predictionIndex = prediction !== undefined ? table.columns.indexOf(prediction) : -1;
  let scored = 0;
  let correct = 0;
  let rows = 0;
  for await (const row of table.rows()) {
    if (predictionIndex !== -1) {
      const hit = sameLabel(row.cells[predictionIndex]!, row.cells[labelIndex]!);
      if (hit !== undefined) {
        scored++;
        if (hit) correct++;
      }
    }
    for (let k = 0; k < indices.length; k++) {
      const cell = row.cells[indices[k]!]!;
      const acc = accumulators[k]!;
      if (acc instanceof NumericAccumulator) {
        const value = numericValue(cell);
        if (value === undefined) throw wrongType(file, row, indices[k]!, profiled[k]!, cell);
        if (value === null) acc.missing++;
        else if (!Number.isFinite(value)) throw nonFiniteError(file, row, indices[k]!, profiled[k]!, cell);
        else acc.add(value);
      } else {
        const value = categoricalValue(cell);
        if (value === null) acc.missing++;
        else if (!acc.add(value)) throw tooManyCategories(file, row, indices[k]!, profiled[k]!);
      }
    }
    if (++rows % PROGRESS_EVERY === 0) options.onProgress?.({ bytesRead: table.bytesRead, size: table.size, rows, pass: passes, passes });
  }
  options.onProgress?.({ bytesRead: table.size, size: table.size, rows, pass: passes, passes });
  if (rows === 0) throw dataError('DRIFT_EMPTY_FILE', file, 2, 1, 'no data rows after the header');

  const profiles = new Map<string, FeatureProfile>();
  profiled.forEach((name, k) => {
    const acc = accumulators[k]!;
    if (acc.count === 0) {
      throw dataError('DRIFT_NO_VALUES', file, 1, undefined, `column "${name}" has no values: all ${rows} rows are missing it`);
    }
    profiles.set(name, acc instanceof NumericAccumulator ? acc.profile() : acc.profile(options.topK ?? DEFAULT_TOP_K));
  });
  const featureNames = profiled.filter((c) => !outputs.includes(c) && c !== label);
  return {
    kind: PROFILE_KIND,
    version: PROFILE_VERSION,
    source: { file: basename(file), format: table.format, rows },
    ...(options.inputTensor ? { inputTensor: options.inputTensor } : {}),
    featureOrder: features,
    features: Object.fromEntries(featureNames.map((name) => [name, profiles.get(name)!])),
    ...(outputs.length > 0
      ? {
          outputs: {
            ...(options.outputTensor ? { tensor: options.outputTensor } : {}),
            order: outputs,
            features: Object.fromEntries(outputs.map((name) => [name, profiles.get(name)!])),
          },
        }
      : {}),
    ...(label !== undefined ? { target: { name: label, profile: profiles.get(label)! } } : {}),
    ...(prediction !== undefined && scored > 0 ? { performance: { metric: 'accuracy' as const, prediction, value: correct / scored, count: scored } } : {}),
  };
}

export interface DriftOptions {
  /** Overrides merged over the baseline's own thresholds. */
  readonly thresholds?: ThresholdConfig;
  readonly onProgress?: (progress: Progress) => void;
  readonly sketchCapacity?: number;
}

/**
 * Compares `file` against the baseline. Output, label and prediction columns are compared
 * when present (a serving log has outputs, a labelled extract has the label). A baseline
 * feature the data lacks is a data-quality finding; a file sharing no column with the
 * baseline is a usage error with a hint.
 */
export async function measureDrift(baseline: BaselineProfile, file: string, options: DriftOptions = {}): Promise<DriftReport> {
  const table = await openTable(file);
  const baselineFeatures = Object.keys(baseline.features);
  const featureNames = baselineFeatures.filter((name) => table.columns.includes(name));
  const absent = baselineFeatures.filter((name) => !table.columns.includes(name));
  if (featureNames.length === 0) {
    throw new SlipwayError('DRIFT_WRONG_DATA',
      `${file}: none of the baseline's ${baselineFeatures.length} features (${columnList(baselineFeatures)}) is a column of this file, whose ${table.format === 'csv' ? 'header' : 'first record'} has ${table.columns.length} column${table.columns.length === 1 ? '' : 's'}: is --data the current data (CSV or JSON Lines) and --baseline the profile \`slipway baseline\` wrote?`, 1);
  }
  const outputNames = baseline.outputs ? baseline.outputs.order.filter((name) => table.columns.includes(name)) : [];
  const target = baseline.target && table.columns.includes(baseline.target.name) ? baseline.target : undefined;
  const names = [...featureNames, ...outputNames, ...(target ? [target.name] : [])];
  const indices = names.map((name) => table.columns.indexOf(name));
  const profiles = [...featureNames.map((n) => baseline.features[n]!), ...outputNames.map((n) => baseline.outputs!.features[n]!), ...(target ? [target.profile] : [])];
  const accumulators: CurrentAccumulator[] = profiles.map((p) => accumulatorFor(p, options.sketchCapacity));
  const performance = baseline.performance && target && table.columns.includes(baseline.performance.prediction) ? baseline.performance : undefined;
  const labelIndex = target ? table.columns.indexOf(target.name) : -1;
  const predictionIndex = performance ? table.columns.indexOf(performance.prediction) : -1;
  let scored = 0;
  let correct = 0;
  let rows = 0;
  for await (const row of table.rows()) {
    if (predictionIndex !== -1) {
      const hit = sameLabel(row.cells[predictionIndex]!, row.cells[labelIndex]!);
      if (hit !== undefined) {
        scored++;
        if (hit) correct++;
      }
    }
    for (let k = 0; k < indices.length; k++) {
      const cell = row.cells[indices[k]!]!;
      const acc = accumulators[k]!;
      if (acc instanceof CurrentNumeric) {
        const value = numericValue(cell);
        if (value === undefined) throw wrongType(file, row, indices[k]!, names[k]!, cell);
        if (value === null) acc.missing++;
        else if (!Number.isFinite(value)) acc.nonFinite++;
        else acc.add(value);
      } else {
        const categorical = acc as CategoricalAccumulator;
        const value = categoricalValue(cell);
        if (value === null) categorical.missing++;
        else if (!categorical.add(value)) throw tooManyCategories(file, row, indices[k]!, names[k]!);
      }
    }
    if (++rows % PROGRESS_EVERY === 0) options.onProgress?.({ bytesRead: table.bytesRead, size: table.size, rows, pass: 1, passes: 1 });
  }
  if (rows === 0) throw dataError('DRIFT_EMPTY_FILE', file, 2, 1, 'no data rows after the header');
  const features: Record<string, FeatureReport> = {};
  const outputs: Record<string, FeatureReport> = {};
  let targetReport: FeatureReport | undefined;
  names.forEach((name, k) => {
    const section = k < featureNames.length ? 'features' : 'outputs';
    const thresholds = resolveThresholds(name, section, baseline.thresholds, options.thresholds);
    const report = compareFeature(profiles[k]!, accumulators[k]!, thresholds, name);
    if (k < featureNames.length) features[name] = report;
    else if (k < featureNames.length + outputNames.length) outputs[name] = report;
    else targetReport = report;
  });
  const known = new Set([...baselineFeatures, ...(baseline.outputs?.order ?? []), ...(baseline.target ? [baseline.target.name] : []), ...(baseline.performance ? [baseline.performance.prediction] : [])]);
  const extraFindings: QualityFinding[] = [
    ...absent.map((column): QualityFinding => ({ column, kind: 'missing-column', severity: 'warning', message: `column "${column}" is missing from the data (the baseline profiles it as a model input)` })),
    ...table.columns.filter((c) => !known.has(c)).map((column): QualityFinding => ({ column, kind: 'new-column', severity: 'info', message: `column "${column}" is new: the baseline does not profile it` })),
  ];
  return summarize({
    features,
    ...(outputNames.length > 0 ? { outputs } : {}),
    ...(target && targetReport ? { target: { name: target.name, report: targetReport } } : {}),
    ...(performance
      ? {
          performance: {
            metric: 'accuracy' as const,
            prediction: performance.prediction,
            reference: performance.value,
            current: scored > 0 ? correct / scored : null,
            change: scored > 0 ? correct / scored - performance.value : null,
            count: scored,
          },
        }
      : {}),
    extraFindings,
    rows,
    driftShare: resolveDriftShare(baseline.thresholds, options.thresholds),
    reference: { file: baseline.source.file, rows: baseline.source.rows },
    generatedAt: new Date().toISOString(),
  });
}
