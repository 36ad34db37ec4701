import cliProgress from 'cli-progress';

/** Progress of a long job: a bar on a terminal, plain step lines otherwise (CI logs, tests). */
export interface Progress {
  step(label: string): void;
  update(done: number, total: number): void;
  done(summary: string): void;
}

export const silentProgress: Progress = { step() {}, update() {}, done() {} };

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  if (!stream.isTTY) {
    return {
      step: (label) => stream.write(`[${seconds()} s] ${label}\n`),
      update() {},
      done: (summary) => stream.write(`[${seconds()} s] ${summary}\n`),
    };
  }
  let bar: cliProgress.SingleBar | null = null;
  let label = '';
  const stop = () => {
    bar?.stop();
    bar = null;
  };
  return {
    step(next) {
      stop();
      label = next;
      stream.write(`[${seconds()} s] ${label}\n`);
    },
    update(done, total) {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          { stream, format: `  ${label} [{bar}] {percentage}% {value}/{total}`, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done);
      } else bar.update(done);
    },
    done(summary) {
      stop();
      stream.write(`[${seconds()} s] ${summary}\n`);
    },
  };
}
