/**
 * Names the write stage at which the process kills itself with SIGKILL, for the crash tests
 * (a real kill -9 at a known moment instead of timing luck). Unset in normal use.
 */
export const CRASH_AT_ENV = 'SLIPWAY_CRASH_AT';

/** Stages of a release, in the order a run passes them (a release writes loose objects). */
export const WRITE_STAGES = [
  'locked',
  'before-rename:object',
  'objects-written',
  'commit-written',
  'journal-written',
  'before-rename:ref',
  'ref-moved',
  'working-tree-half',
  'before-rename:index',
  'index-written',
  'render-cache-written',
] as const;

/** Stages only a large write passes: its objects go into one packfile. */
export const PACK_STAGES = ['pack-renamed', 'objects-written', 'ref-moved', 'working-tree-half'] as const;

export function crashPoint(stage: string): void {
  if (process.env[CRASH_AT_ENV] === stage) process.kill(process.pid, 'SIGKILL');
}
