/**
 * One status line on stderr, redrawn in place, for synths of many applications. Silent when
 * stderr is not a terminal or CI is set, so logs and pipes only get the final output.
 */
export class Progress {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = Boolean(stream.isTTY) && !process.env.CI,
  ) {}

  update(stage: string, done?: number, total?: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    const final = done !== undefined && done === total;
    if (!final && now - this.lastDraw < 100 && done !== undefined) return;
    this.lastDraw = now;
    const counter = total !== undefined ? ` ${done ?? 0}/${total}` : '';
    this.stream.write(`\r\x1b[K${stage}${counter}`);
    this.drawn = true;
  }

  clear(): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}

/** A sink that ignores updates, for library callers and tests. */
export const silentProgress = { update(): void {}, clear(): void {} } satisfies Pick<Progress, 'update' | 'clear'>;

export type ProgressSink = Pick<Progress, 'update' | 'clear'>;
