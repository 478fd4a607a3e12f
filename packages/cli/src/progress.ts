// The training progress display: a cli-progress bar (step, loss, tokens or examples/s, ETA) on stderr when
// it is a terminal, and plain lines otherwise, so logs and test output stay readable.

import cliProgress from 'cli-progress';

export interface ProgressView {
  update(step: number, values: { loss: number; tokensPerSecond: number }): void;
  /** A line above the bar (eval results, checkpoints). */
  log(line: string): void;
  stop(): void;
}

/**
 * `rateUnit` names what the trainer's throughput counts: target tokens ('tok/s'), or the
 * examples of a classifier, whose one label each it counts ('examples/s').
 */
export function progressView(totalSteps: number, startStep: number, rateUnit = 'tok/s'): ProgressView {
  if (!process.stderr.isTTY) {
    return {
      update: (step, v) => console.log(`step ${step}/${totalSteps}  loss ${v.loss.toFixed(4)}  ${Math.round(v.tokensPerSecond)} ${rateUnit}`),
      log: (line) => console.log(line),
      stop: () => {},
    };
  }
  const multi = new cliProgress.MultiBar(
    {
      format: ` {bar} {value}/{total} | loss {loss} | {tps} ${rateUnit} | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = multi.create(totalSteps, startStep, { loss: '-', tps: '-' });
  return {
    update: (step, v) => bar.update(step, { loss: v.loss.toFixed(4), tps: Math.round(v.tokensPerSecond) }),
    log: (line) => multi.log(`${line}\n`),
    stop: () => multi.stop(),
  };
}
