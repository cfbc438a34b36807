import { basename } from 'node:path';
import {
  accumulatorFor,
  compareFeature,
  CurrentNumeric,
  resolveThresholds,
  type CurrentAccumulator,
  type DriftReport,
  type FeatureReport,
} from './compare.js';
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

export type ColumnType = 'numeric' | 'categorical';

/** undefined: not a number (a wrong type for a numeric column). */
export function numericValue(cell: Cell): number | null | undefined {
  if (cell === null) return null;
  if (typeof cell === 'number') return Number.isFinite(cell) ? cell : undefined;
  if (typeof cell === 'boolean') return undefined;
  const text = cell.trim();
  if (MISSING_TOKENS.has(text)) return null;
  return NUMBER.test(text) ? Number(text) : undefined;
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
  readonly topK?: number;
  readonly inputTensor?: string;
  readonly outputTensor?: string;
  readonly onProgress?: (progress: Progress) => void;
  /** Rank sketch capacity per column; exact up to this many values. */
  readonly sketchCapacity?: number;
}

function indexColumns(table: Table, names: readonly string[], flag: string): number[] {
  return names.map((name) => {
    const index = table.columns.indexOf(name);
    if (index === -1) {
      throw dataError('DRIFT_UNKNOWN_FEATURE', table.file, 1, undefined,
        `unknown feature "${name}" in ${flag}: the ${table.format === 'csv' ? 'header' : 'first record'} has columns ${table.columns.join(', ')}`);
    }
    return index;
  });
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
  const features = options.features ? [...options.features] : probe.columns.filter((c) => !outputs.includes(c));
  indexColumns(probe, features, '--features');
  indexColumns(probe, options.categorical ?? [], '--categorical');
  indexColumns(probe, options.numeric ?? [], '--numeric');
  const both = (options.categorical ?? []).filter((c) => options.numeric?.includes(c));
  if (both.length > 0) throw dataError('DRIFT_USAGE', file, 1, undefined, `column "${both[0]}" is given as both --categorical and --numeric`);
  const extraCategorical = (options.categorical ?? []).filter((c) => !features.includes(c) && !outputs.includes(c));
  const profiled = [...new Set([...features, ...extraCategorical, ...outputs])];
  const given = new Map<string, ColumnType>();
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
  let rows = 0;
  for await (const row of table.rows()) {
    for (let k = 0; k < indices.length; k++) {
      const cell = row.cells[indices[k]!]!;
      const acc = accumulators[k]!;
      if (acc instanceof NumericAccumulator) {
        const value = numericValue(cell);
        if (value === undefined) throw wrongType(file, row, indices[k]!, profiled[k]!, cell);
        if (value === null) acc.missing++;
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
  const featureNames = profiled.filter((c) => !outputs.includes(c));
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
  };
}

export interface DriftOptions {
  /** Overrides merged over the baseline's own thresholds. */
  readonly thresholds?: ThresholdConfig;
  readonly onProgress?: (progress: Progress) => void;
  readonly sketchCapacity?: number;
}

/**
 * Compares `file` against the baseline. Every baseline feature must be a column; output
 * columns are compared when present (a serving log has them, a feature extract may not).
 */
export async function measureDrift(baseline: BaselineProfile, file: string, options: DriftOptions = {}): Promise<DriftReport> {
  const table = await openTable(file);
  const featureNames = Object.keys(baseline.features);
  const featureIndices = indexColumns(table, featureNames, `the baseline (${featureNames.length} features)`);
  const outputNames = baseline.outputs ? baseline.outputs.order.filter((name) => table.columns.includes(name)) : [];
  const outputIndices = outputNames.map((name) => table.columns.indexOf(name));
  const names = [...featureNames, ...outputNames];
  const indices = [...featureIndices, ...outputIndices];
  const profiles = [...featureNames.map((n) => baseline.features[n]!), ...outputNames.map((n) => baseline.outputs!.features[n]!)];
  const accumulators: CurrentAccumulator[] = profiles.map((p) => accumulatorFor(p, options.sketchCapacity));
  let rows = 0;
  for await (const row of table.rows()) {
    for (let k = 0; k < indices.length; k++) {
      const cell = row.cells[indices[k]!]!;
      const acc = accumulators[k]!;
      if (acc instanceof CurrentNumeric) {
        const value = numericValue(cell);
        if (value === undefined) throw wrongType(file, row, indices[k]!, names[k]!, cell);
        if (value === null) acc.missing++;
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
  names.forEach((name, k) => {
    const isOutput = k >= featureNames.length;
    const thresholds = resolveThresholds(name, isOutput ? 'outputs' : 'features', baseline.thresholds, options.thresholds);
    (isOutput ? outputs : features)[name] = compareFeature(profiles[k]!, accumulators[k]!, thresholds);
  });
  const all = [...Object.values(features), ...Object.values(outputs)];
  return {
    drifted: all.some((f) => f.drifted),
    features,
    ...(outputNames.length > 0 ? { outputs } : {}),
    rows,
  };
}
