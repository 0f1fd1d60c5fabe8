/**
 * Progress of a long operation on stderr: a bar redrawn in place on a terminal, plain lines
 * otherwise (one per tenth of the total, or per 100 items when the total is unknown, and the last).
 *
 * @module
 */

/**
 * A progress display.
 *
 * @example
 * ```ts
 * const progress = createProgress({ write: (s) => process.stderr.write(s), terminal: true, label: 'redrive' });
 * progress.update(120, 500);
 * progress.done();
 * ```
 */
export interface Progress {
  /** `done` items of `total` (`null` when unknown). */
  update(done: number, total: number | null): void;
  /** Ends the display (a newline after a bar; the last line when it was not printed yet). */
  done(): void;
}

/**
 * Options of {@link createProgress}.
 *
 * @example
 * ```ts
 * const o: ProgressOptions = { write: (s) => err.push(s), terminal: false, label: 'redrive' };
 * ```
 */
export interface ProgressOptions {
  write: (text: string) => void;
  /** Draw a bar in place (`\r`), else plain lines. */
  terminal: boolean;
  /** Printed before the figures. */
  label: string;
  /** Width of the bar, characters. @default 30 */
  width?: number;
}

/**
 * Creates a progress display (see the module documentation).
 *
 * @example
 * ```ts
 * const p = createProgress({ write: (s) => process.stderr.write(s), terminal: process.stderr.isTTY, label: 'moved' });
 * ```
 */
export function createProgress(options: ProgressOptions): Progress {
  const width = options.width ?? 30;
  let last: { done: number; total: number | null } | undefined;
  let printed: number | undefined;
  let drawn = false;
  const figures = (done: number, total: number | null) =>
    total === null || total <= 0
      ? `${options.label}: ${done}`
      : `${options.label}: ${done}/${total} (${Math.min(100, Math.floor((done / total) * 100))}%)`;
  return {
    update(done, total) {
      last = { done, total };
      if (options.terminal) {
        const filled =
          total === null || total <= 0 ? 0 : Math.min(width, Math.round((done / total) * width));
        options.write(
          `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${figures(done, total)}`,
        );
        drawn = true;
        return;
      }
      const step = total === null || total <= 0 ? 100 : Math.max(1, Math.ceil(total / 10));
      if (printed === undefined || Math.floor(done / step) > Math.floor(printed / step)) {
        options.write(`${figures(done, total)}\n`);
        printed = done;
      }
    },
    done() {
      if (options.terminal) {
        if (drawn) options.write('\n');
        return;
      }
      if (last !== undefined && printed !== last.done) {
        options.write(`${figures(last.done, last.total)}\n`);
        printed = last.done;
      }
    },
  };
}
