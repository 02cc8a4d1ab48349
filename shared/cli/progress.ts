// Progress for long work: a bar per phase on a terminal, plain log lines (every 10 %) otherwise.
import cliProgress from 'cli-progress';
import type { Log, Progress } from '../ports.ts';

export function createProgress(log: Log, tty: boolean): Progress {
  if (tty) {
    const bars = new Map<string, cliProgress.SingleBar>();
    return {
      start(phase, total) {
        const bar = new cliProgress.SingleBar(
          {
            format: `${phase.padEnd(16)} {bar} {value}/{total} {percentage}% eta {eta_formatted}`,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0);
        bars.set(phase, bar);
      },
      advance(phase, by = 1) {
        bars.get(phase)?.increment(by);
      },
      finish(phase) {
        bars.get(phase)?.stop();
        bars.delete(phase);
      },
    };
  }
  const state = new Map<string, { total: number; done: number; lastDecile: number }>();
  return {
    start(phase, total) {
      state.set(phase, { total, done: 0, lastDecile: 0 });
      log.info(`${phase}: 0/${total}`);
    },
    advance(phase, by = 1) {
      const s = state.get(phase);
      if (!s) return;
      s.done += by;
      const decile = Math.floor((10 * s.done) / Math.max(s.total, 1));
      if (decile > s.lastDecile) {
        s.lastDecile = decile;
        log.info(`${phase}: ${s.done}/${s.total}`);
      }
    },
    finish(phase) {
      state.delete(phase);
    },
  };
}
