/**
 * Structured logs: one JSON object per line, one line per event. Callers pass
 * event names and small fields; request bodies never reach the logger.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const rank: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined | readonly string[]>>;

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

export interface LineSink {
  write(line: string): unknown;
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && value in rank;
}

export function jsonLogger(sink: LineSink = process.stdout, minLevel: LogLevel = 'info', now: () => Date = () => new Date()): Logger {
  return {
    log(level, event, fields = {}) {
      if (rank[level] < rank[minLevel]) return;
      sink.write(`${JSON.stringify({ time: now().toISOString(), level, event, ...fields })}\n`);
    },
  };
}

/** Collects log records in memory: tests assert on what the runtime reported. */
export class MemoryLogger implements Logger {
  readonly records: Array<{ level: LogLevel; event: string } & Record<string, unknown>> = [];
  log(level: LogLevel, event: string, fields: LogFields = {}): void {
    this.records.push({ ...fields, level, event });
  }
}
