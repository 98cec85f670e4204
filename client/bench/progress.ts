// A progress bar on stderr when it is a terminal; nothing at all otherwise (a script or
// a log file gets the final report only).
//
//   bench put  [=============>              ]  4123/10000  41%  3.2k/s  ETA 2s

/** Redraws at most this often (a redraw per request would cost more than the request). */
const REDRAW_MS = 100;
const BAR_WIDTH = 30;
/** When the terminal does not say how wide it is. */
const DEFAULT_COLUMNS = 120;

export interface ProgressSink {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

export class Progress {
  private done = 0;
  private readonly startMs = Date.now();
  private readonly timer: NodeJS.Timeout | undefined;

  /** `total` 0 draws a bar of elapsed time over `durationMs` instead of a count. */
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly sink: ProgressSink | undefined,
    private readonly durationMs = 0,
  ) {
    if (this.sink?.isTTY !== true) return;
    this.timer = setInterval(() => this.draw(), REDRAW_MS);
    this.timer.unref();
  }

  tick(n = 1): void {
    this.done += n;
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.draw();
    this.sink?.write('\n');
  }

  private draw(): void {
    const elapsedMs = Date.now() - this.startMs;
    const fraction = this.total > 0 ? this.done / this.total : this.durationMs > 0 ? elapsedMs / this.durationMs : 0;
    const f = Math.min(1, Math.max(0, fraction));
    const filled = Math.floor(f * BAR_WIDTH);
    const bar = '='.repeat(filled) + (filled < BAR_WIDTH ? '>' : '') + ' '.repeat(Math.max(0, BAR_WIDTH - filled - 1));
    const rate = elapsedMs > 0 ? (this.done * 1000) / elapsedMs : 0;
    const etaS = f > 0 && f < 1 ? Math.round((elapsedMs * (1 / f - 1)) / 1000) : 0;
    const count = this.total > 0 ? `${this.done}/${this.total}` : `${this.done}`;
    const text = `${this.label} [${bar}] ${count} ${(f * 100).toFixed(0)}% ${formatRate(rate)}/s ETA ${etaS}s`;
    const columns = this.sink?.columns !== undefined && this.sink.columns > 0 ? this.sink.columns : DEFAULT_COLUMNS;
    this.sink?.write(`\r${text.slice(0, columns - 1)}\x1b[K`);
  }
}

function formatRate(perSecond: number): string {
  return perSecond >= 1000 ? `${(perSecond / 1000).toFixed(1)}k` : perSecond.toFixed(0);
}
