/**
 * Builds terminal snapshots for fast seeking: replays a session's (filtered) output once through a
 * headless xterm and serializes the screen and scrollback at the points it is given. A seek then restores
 * the nearest snapshot and writes only the output after it, never the whole recording.
 */
import './worker-shim.ts';
import { SerializeAddon } from '@xterm/addon-serialize';
import { Terminal } from '@xterm/headless';
import { joinChunks } from '../model/replay.ts';

export interface SnapshotRequest {
  cols: number;
  rows: number;
  scrollback: number;
  chunks: Uint8Array[];
  points: number[];
}

export interface SnapshotMessage {
  index: number;
  state: string;
  done: boolean;
}

declare const self: { postMessage(m: unknown): void; onmessage: ((ev: MessageEvent<SnapshotRequest>) => void) | null };

self.onmessage = async (ev) => {
  const { cols, rows, scrollback, chunks, points } = ev.data;
  const term = new Terminal({ cols, rows, scrollback, allowProposedApi: true });
  const ser = new SerializeAddon();
  term.loadAddon(ser as never);
  let applied = 0;
  for (const p of points) {
    const data = joinChunks(chunks, applied, p);
    applied = p;
    await new Promise<void>((resolve) => term.write(data, resolve));
    self.postMessage({ index: p, state: ser.serialize({ scrollback }), done: false } satisfies SnapshotMessage);
  }
  self.postMessage({ index: -1, state: '', done: true } satisfies SnapshotMessage);
  term.dispose();
};
