import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SlipwayError } from '../errors.js';
import { BASELINE_FILE, MODEL_FILE } from '../vocabulary/build.js';
import { defaultModelConfig, readModelConfig, type ModelConfig } from './model-config.js';

/** Where one servable model version lives, and what configures it. */
export interface ModelSource {
  name: string;
  version: string;
  modelPath: string;
  /** Drift baseline beside the model, when present (read by the drift module). */
  baselinePath?: string;
  configPath?: string;
  config: ModelConfig;
  /** Set when the model cannot load (missing file, invalid config): it is listed but never ready. */
  problem?: string;
}

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Triton's integer versions and the dotted ones ModelServing writes (`1.3.0`, `2024-05-01_b`). */
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const DIGITS = /^[0-9]+$/;
const CONFIG_FILE = 'config.json';

/**
 * Orders versions by dot-separated segments: numerically when both segments are digits, else
 * as text; a version that extends another is higher. So 1.10.0 > 1.9.2 > 1, and 10 > 9.
 */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.');
  const right = b.split('.');
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const x = left[i]!;
    const y = right[i]!;
    if (DIGITS.test(x) && DIGITS.test(y)) {
      const [bx, by] = [BigInt(x), BigInt(y)];
      if (bx !== by) return bx < by ? -1 : 1;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return left.length - right.length || (a < b ? -1 : a > b ? 1 : 0);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The names of the files (and links) in a directory: one readdir instead of a check per name. */
function fileNames(entries: readonly Dirent[]): ReadonlySet<string> {
  return new Set(entries.filter((e) => !e.isDirectory()).map((e) => e.name));
}

/** The version directory's config wins over one at the model level (which applies to every version). */
async function withConfig(source: Omit<ModelSource, 'config'>, candidates: ReadonlyArray<[dir: string, files: ReadonlySet<string>]>): Promise<ModelSource> {
  const found = candidates.find(([, files]) => files.has(CONFIG_FILE));
  if (!found) return { ...source, config: defaultModelConfig() };
  const path = join(found[0], CONFIG_FILE);
  try {
    return { ...source, configPath: path, config: await readModelConfig(path) };
  } catch (err) {
    return { ...source, configPath: path, config: defaultModelConfig(), problem: (err as Error).message };
  }
}

function located(dir: string, files: ReadonlySet<string>): { modelPath: string; baselinePath?: string } {
  return { modelPath: join(dir, MODEL_FILE), ...(files.has(BASELINE_FILE) && { baselinePath: join(dir, BASELINE_FILE) }) };
}

// Each directory is read once and its names looked up, rather than one access() per candidate
// file: a thousand models took five thousand file-system calls of start-up otherwise.
async function scanModel(dir: string, name: string): Promise<ModelSource> {
  const entries = await readdir(dir, { withFileTypes: true });
  const modelFiles = fileNames(entries);
  const versions = entries
    .filter((e) => e.isDirectory() && VERSION.test(e.name))
    .map((e) => e.name)
    .sort((a, b) => compareVersions(b, a));
  for (const version of versions) {
    const versionDir = join(dir, version);
    const versionFiles = fileNames(await readdir(versionDir, { withFileTypes: true }));
    if (!versionFiles.has(MODEL_FILE)) continue;
    return withConfig({ name, version, ...located(versionDir, versionFiles) }, [
      [versionDir, versionFiles],
      [dir, modelFiles],
    ]);
  }
  if (modelFiles.has(MODEL_FILE)) return withConfig({ name, version: '1', ...located(dir, modelFiles) }, [[dir, modelFiles]]);
  return {
    name,
    version: versions[0] ?? '1',
    modelPath: join(dir, versions[0] ?? '', MODEL_FILE),
    config: defaultModelConfig(),
    problem: `no model found: expected ${join(dir, '<version>', MODEL_FILE)} or ${join(dir, MODEL_FILE)}`,
  };
}

/**
 * Reads a Triton-style model repository: DIR/<name>/<version>/model.onnx (highest
 * version by compareVersions serves) or DIR/<name>/model.onnx, each with optional config.json
 * and baseline.json. Broken models are returned with `problem` set rather than
 * failing the whole repository: one bad model must not take the others down.
 */
export async function scanRepository(dir: string): Promise<ModelSource[]> {
  const root = resolve(dir);
  if (!(await isDirectory(root))) {
    throw new SlipwayError('RUNTIME_REPOSITORY_NOT_FOUND', `model repository ${dir}: not a directory`, 2);
  }
  const entries = await readdir(root, { withFileTypes: true });
  const sources: Array<ModelSource | Promise<ModelSource>> = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    if (!MODEL_NAME.test(entry.name)) {
      // Only this entry fails: it is listed (repository index, logs) with its reason and never loads.
      sources.push({
        name: entry.name,
        version: '1',
        modelPath: join(root, entry.name),
        config: defaultModelConfig(),
        problem: `directory "${entry.name}" in model repository ${dir} is not a valid model name (expected letters, digits, '_', '.', '-', starting with a letter or digit; at most 128)`,
      });
      continue;
    }
    // Model directories are read at once, not one after another: a thousand of them took 0.7 s
    // of start-up in turn.
    sources.push(scanModel(join(root, entry.name), entry.name));
  }
  return Promise.all(sources);
}

/**
 * Why a repository holds nothing to serve, naming what was found instead: an empty repository
 * must not look ready (it would pass readiness and serve 404s).
 */
export async function explainEmptyRepository(dir: string): Promise<string> {
  const expected = `expected ${join(dir, '<name>', '<version>', 'model.onnx')} or ${join(dir, '<name>', 'model.onnx')}`;
  let names: string[] = [];
  try {
    names = (await readdir(resolve(dir))).filter((n) => !n.startsWith('.'));
  } catch {
    return `model repository ${dir} cannot be read: ${expected}`;
  }
  const stray = names.filter((n) => n.endsWith('.onnx'));
  if (stray.length > 0) {
    return `model repository ${dir} holds no model directories, but has ${stray.join(', ')} at its top level: ${expected} (move it to ${join(dir, stray[0]!.replace(/\.onnx$/, ''), '1', 'model.onnx')})`;
  }
  return `model repository ${dir} holds no models${names.length > 0 ? ` (found only ${names.slice(0, 5).join(', ')})` : ' (it is empty)'}: ${expected}`;
}

/** `--model NAME=PATH.onnx`: a single model served as version 1 with default config. */
export function parseModelFlag(flag: string): ModelSource {
  const eq = flag.indexOf('=');
  const name = eq > 0 ? flag.slice(0, eq) : '';
  const path = eq > 0 ? flag.slice(eq + 1) : '';
  if (!MODEL_NAME.test(name) || path === '') {
    throw new SlipwayError('RUNTIME_MODEL_FLAG_INVALID', `--model ${flag}: expected NAME=PATH.onnx with NAME made of letters, digits, '_', '.', '-'`, 2);
  }
  return { name, version: '1', modelPath: resolve(path), config: defaultModelConfig() };
}
