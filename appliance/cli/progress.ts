/** Progress on stderr for long operations: only on a terminal, at most a few updates a second. */
export function progressReporter(label: string): { update: (done: number, total: number) => void; done: () => void } {
  const tty = process.stderr.isTTY;
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (total < 64 * 1024 * 1024 || now - last < 250) return;
      last = now;
      shown = true;
      const line = `${label}: ${(done / 1048576).toFixed(0)} / ${(total / 1048576).toFixed(0)} MiB (${Math.floor((done / total) * 100)}%)`;
      process.stderr.write(tty ? `\r${line}` : `${line}\n`);
    },
    done() {
      if (shown && tty) process.stderr.write('\n');
    },
  };
}
