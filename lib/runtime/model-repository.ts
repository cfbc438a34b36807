/**
 * Which models are loaded: the startup load, the model repository extension (index, load,
 * unload), Triton's model control modes, and a memory budget kept by unloading the least recently
 * used model. The data plane serves what this puts in it.
 */
import { stat } from 'node:fs/promises';
import type { Backend } from './backend.js';
import type { ThreadPlan } from './cpu.js';
import type { DataPlane, ModelEntry } from './data-plane.js';
import { InferenceError } from './errors.js';
import type { Logger } from './logger.js';
import type { RuntimeMetrics } from './metrics.js';
import { ServedModel } from './model.js';
import type { CpuMemArena, ExecutionProviderName } from './model-config.js';
import type { ObserverFactory } from './observer.js';
import { explainEmptyRepository, scanRepository, type ModelSource } from './repository.js';

/**
 * Triton's --model-control-mode: `none` loads every model at startup; `explicit` loads only the
 * startup models named and the ones loaded through the repository extension.
 */
export const MODEL_CONTROL_MODES = ['none', 'explicit'] as const;
export type ModelControlMode = (typeof MODEL_CONTROL_MODES)[number];

export interface ModelRepositoryOptions {
  sources: readonly ModelSource[];
  /** The repository the sources came from: rescanned on load, named when it holds nothing to serve. */
  repository?: string;
  logger: Logger;
  metrics: RuntimeMetrics;
  backend: Backend;
  defaultProvider: ExecutionProviderName;
  threads: ThreadPlan;
  cpuMemArena?: CpuMemArena;
  observers?: ObserverFactory;
  /**
   * Hook: checks sources before they load, setting `problem` on those that must not serve (the
   * released build's sha256, lib/runtime/integrity.ts). Runs for every repository load.
   */
  verify?: (sources: ModelSource[]) => Promise<void>;
  /** Default none. */
  controlMode?: ModelControlMode;
  /** Under explicit control, the models loaded at startup (Triton's --load-model). */
  startupModels?: readonly string[];
  /**
   * Most bytes of model the server keeps loaded (each model counts its model file's size, once per
   * session); loading past it unloads the least recently used idle models first, which load again
   * on their next request. Absent: no budget.
   */
  memoryBudgetBytes?: number;
  /**
   * Models loading at once during the startup load; default: four per session thread, so each
   * thread always has its next load queued instead of idling while the event loop turns around.
   */
  loadConcurrency?: number;
}

export class ModelRepository {
  /** Load and unload of one model run one after another. */
  private readonly ops = new Map<string, Promise<void>>();
  private readonly mode: ModelControlMode;
  /** Entries charged against the memory budget: loaded, or loading with their room made. */
  private readonly charged = new Set<ModelEntry>();
  /** Set by close(): the startup load starts no more models. */
  private closed = false;

  constructor(
    private readonly plane: DataPlane,
    private readonly options: ModelRepositoryOptions,
  ) {
    this.mode = options.controlMode ?? 'none';
    const startup = new Set(options.startupModels ?? []);
    for (const source of options.sources) {
      if (plane.entry(source.name)) throw new InferenceError(500, `model "${source.name}" is defined twice (repository and --model?)`);
      const entry = this.createEntry(source);
      if (this.mode === 'explicit' && !startup.has(source.name)) {
        entry.unloaded = true;
        entry.model.status = 'unloaded';
      }
      plane.put(entry);
    }
    if (options.memoryBudgetBytes !== undefined) plane.demandLoad = (entry) => this.serialized(entry.model.name, () => this.reload(entry));
  }

  get controlMode(): ModelControlMode {
    return this.mode;
  }

  /** Bytes charged against the memory budget by the models loaded now. */
  get loadedBytes(): number {
    let bytes = 0;
    for (const { model } of this.charged) bytes += model.memoryBytes;
    return bytes;
  }

  /**
   * The startup load: every model (none) or the startup models (explicit), a few at a time;
   * failures are isolated per model. Readiness and models_loaded wait for `announce` (the ports
   * open), so the port is always announced before the load's end.
   */
  async loadAll(announce: Promise<void> = Promise.resolve()): Promise<void> {
    const pending = [...this.plane.all].filter((e) => !e.unloaded);
    const concurrency = Math.max(1, this.options.loadConcurrency ?? 4 * this.options.threads.sessionThreads);
    const next = async (): Promise<void> => {
      for (let entry = pending.shift(); entry && !this.closed; entry = pending.shift()) {
        const current = entry;
        await this.serialized(current.model.name, () => this.loadEntry(current));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, next));
    await announce;
    let emptyReason: string | undefined;
    if (this.plane.size === 0) {
      emptyReason = this.options.repository === undefined ? 'no models to serve' : await explainEmptyRepository(this.options.repository);
      this.options.logger.log('error', 'no_models', { reason: emptyReason });
    }
    this.plane.markLoaded(emptyReason);
    const models = this.plane.models;
    this.options.logger.log('info', 'models_loaded', {
      ready: models.filter((m) => m.status === 'ready').map((m) => m.name),
      failed: models.filter((m) => m.status === 'failed').map((m) => m.name),
      ...(this.mode === 'explicit' ? { not_loaded: models.filter((m) => m.status === 'unloaded').map((m) => m.name) } : {}),
    });
  }

  /** Model repository extension: a repository rescan of `name`, loaded in place of the served one. */
  async load(name: string): Promise<void> {
    const repository = this.options.repository;
    if (repository === undefined) {
      throw new InferenceError(400, `cannot load "${name}": the model repository extension needs slipway serve --model-repository; this server serves --model files only`);
    }
    await this.serialized(name, async () => {
      const source = (await scanRepository(repository)).find((s) => s.name === name);
      if (!source) throw new InferenceError(404, `model repository ${repository} has no model "${name}"`);
      await this.options.verify?.([source]);
      const old = this.plane.entry(name);
      if (old) await this.closeEntry(old);
      const entry = this.createEntry(source);
      this.plane.put(entry);
      await this.loadEntry(entry);
      this.options.logger.log('info', 'model_repository_load', { model: name, version: source.version, status: entry.model.status });
      if (entry.model.status !== 'ready') throw new InferenceError(400, entry.model.notReadyMessage(), undefined, entry.overBudget ? 'RUNTIME_MEMORY_BUDGET_EXCEEDED' : undefined);
    });
  }

  /** Model repository extension: stops serving `name` (its requests get 503) until it is loaded again. */
  async unload(name: string): Promise<void> {
    await this.serialized(name, async () => {
      const entry = this.plane.lookup(name, undefined);
      entry.unloaded = true;
      entry.evicted = false;
      await this.closeEntry(entry);
      this.options.logger.log('info', 'model_repository_unload', { model: name, version: entry.model.version });
    });
  }

  /** Model repository extension's index: served models and, with a repository, the ones on disk not loaded. */
  async index(): Promise<Array<{ name: string; version: string; state: string; reason: string }>> {
    const index = [...this.plane.all].map(({ model, unloaded, evicted }) => ({
      name: model.name,
      version: model.version,
      state: model.status === 'ready' ? 'READY' : model.status === 'loading' ? 'LOADING' : 'UNAVAILABLE',
      reason: model.status === 'ready' ? '' : evicted ? 'unloaded to keep the memory budget; loads on its next request' : unloaded || model.status === 'unloaded' ? 'unloaded' : model.reason ?? model.status,
    }));
    if (this.options.repository !== undefined) {
      for (const source of await scanRepository(this.options.repository).catch(() => [])) {
        if (!this.plane.entry(source.name)) index.push({ name: source.name, version: source.version, state: 'UNAVAILABLE', reason: 'not loaded' });
      }
    }
    return index.sort((a, b) => a.name.localeCompare(b.name));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.plane.all) await this.closeEntry(entry);
  }

  private async serialized(name: string, op: () => Promise<void>): Promise<void> {
    const done = (this.ops.get(name) ?? Promise.resolve()).then(op);
    this.ops.set(name, done.catch(() => undefined));
    await done;
  }

  /** An evicted model, loaded again for the request that asked for it. */
  private async reload(entry: ModelEntry): Promise<void> {
    if (!entry.evicted) return;
    entry.evicted = false;
    // The file may have changed since it was verified: check it again before it serves.
    const source = { ...entry.model.source };
    await this.options.verify?.([source]);
    entry.model = this.createModel(source);
    await this.loadEntry(entry);
    this.options.logger.log('info', 'model_reloaded', { model: entry.model.name, version: entry.model.version, status: entry.model.status });
  }

  private async loadEntry(entry: ModelEntry): Promise<void> {
    const { model } = entry;
    entry.unloaded = false;
    entry.lastUsed = performance.now();
    const budget = this.options.memoryBudgetBytes;
    if (budget !== undefined && !model.source.problem) {
      const bytes = await modelBytes(model.source);
      const charge = bytes * (model.source.config.workers ?? this.options.threads.workersPerModel);
      if (charge > budget) {
        entry.overBudget = true;
        model.source.problem = `needs ${charge} bytes (its model file once per session), more than the whole memory budget of ${budget} bytes (--model-memory-budget)`;
      } else {
        model.memoryBytes = charge;
        await this.makeRoom(entry);
      }
    }
    await model.load();
    entry.lastUsed = performance.now();
    if (model.status !== 'ready') this.charged.delete(entry);
    if (model.status === 'ready' && this.options.observers) {
      try {
        model.keepInputs = true;
        entry.observer = await this.options.observers({
          name: model.name,
          version: model.version,
          signature: model.signature!,
          registry: this.options.metrics.registry,
          ...(model.source.baselinePath ? { baselinePath: model.source.baselinePath } : {}),
        });
      } catch (err) {
        entry.observerProblem = (err as Error).message;
        this.options.logger.log('error', 'observer_failed', { model: model.name, version: model.version, reason: entry.observerProblem });
      }
    }
  }

  /**
   * Charges `loading` against the budget, unloading least recently used idle models until it
   * fits. Victims are chosen and charged in one synchronous step, so loads running at once cannot
   * both take the same room; what cannot be made room for loads anyway, logged.
   */
  private async makeRoom(loading: ModelEntry): Promise<void> {
    const budget = this.options.memoryBudgetBytes!;
    const bytes = loading.model.memoryBytes;
    let used = this.loadedBytes;
    const victims: ModelEntry[] = [];
    const candidates = [...this.charged].filter((e) => e !== loading && e.model.status === 'ready' && e.inFlight === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const victim of candidates) {
      if (used + bytes <= budget) break;
      used -= victim.model.memoryBytes;
      victim.evicted = true;
      this.charged.delete(victim);
      victims.push(victim);
    }
    this.charged.add(loading);
    if (used + bytes > budget) {
      this.options.logger.log('warn', 'memory_budget_exceeded', { model: loading.model.name, loaded_bytes: used, needed_bytes: bytes, budget_bytes: budget, reason: 'every other loaded model is serving a request or loading' });
    }
    for (const victim of victims) {
      await this.closeEntry(victim);
      this.options.logger.log('info', 'model_evicted', { model: victim.model.name, version: victim.model.version, freed_bytes: victim.model.memoryBytes, for_model: loading.model.name, budget_bytes: budget });
    }
  }

  private createModel(source: ModelSource): ServedModel {
    return new ServedModel(source, {
      logger: this.options.logger,
      metrics: this.options.metrics,
      defaultProvider: this.options.defaultProvider,
      threads: this.options.threads,
      backend: this.options.backend,
      ...(this.options.cpuMemArena !== undefined ? { cpuMemArena: this.options.cpuMemArena } : {}),
    });
  }

  private createEntry(source: ModelSource): ModelEntry {
    return { model: this.createModel(source), metrics: this.options.metrics.forModel(source.name, source.version), inFlight: 0, lastUsed: 0 };
  }

  private async closeEntry(entry: ModelEntry): Promise<void> {
    this.charged.delete(entry);
    try {
      await entry.observer?.close?.();
    } catch (err) {
      this.options.logger.log('error', 'observer_failed', { model: entry.model.name, reason: (err as Error).message });
    }
    entry.observer = undefined;
    await entry.model.unload();
  }
}

async function modelBytes(source: ModelSource): Promise<number> {
  try {
    return (await stat(source.modelPath)).size;
  } catch {
    return 0;
  }
}
