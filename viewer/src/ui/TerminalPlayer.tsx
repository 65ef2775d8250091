import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { chunkAt, joinChunks, snapshotPoints, terminalTrack, type Marker } from '../model/replay.ts';
import type { SnapshotMessage, SnapshotRequest } from '../player/snapshot.worker.ts';
import { oneLine } from './Text.tsx';

const SCROLLBACK = 1000;
const SPEEDS = [0.5, 1, 2, 4, 8, 16, 32];

function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * Terminal replay in xterm.js. Output is filtered of control strings first (model/terminal-filter.ts);
 * the terminal has no input, no link opening, no clipboard and no window reports. Seeking restores the
 * nearest snapshot (built in a worker) and writes only what follows it.
 */
export function TerminalPlayer({ events }: { events: EvidenceEvent[] }) {
  const track = useMemo(() => terminalTrack(events), [events]);
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const applied = useRef(0);
  const snapshots = useRef<{ index: number; state: string }[]>([{ index: 0, state: '' }]);
  const [position, setPosition] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(1);
  const [indexing, setIndexing] = useState(true);
  const [seekMs, setSeekMs] = useState<{ t: number; ms: number } | null>(null);
  const pos = useRef(0);

  useEffect(() => {
    const t = new Terminal({
      cols: track.cols,
      rows: track.rows,
      scrollback: SCROLLBACK,
      disableStdin: true,
      cursorBlink: false,
      convertEol: false,
      allowProposedApi: false,
      // Hyperlinks (OSC 8 is filtered anyway) never open anything.
      linkHandler: { activate: () => undefined, allowNonHttpProtocols: false },
      fontFamily: "'DejaVu Sans Mono', ui-monospace, Menlo, Consolas, monospace",
      fontSize: 13,
      theme: { background: '#111820', foreground: '#dfe6ee' },
    });
    t.open(host.current!);
    term.current = t;
    applied.current = 0;
    return () => {
      t.dispose();
      term.current = null;
    };
  }, [track]);

  useEffect(() => {
    snapshots.current = [{ index: 0, state: '' }];
    const points = snapshotPoints(track);
    if (points.length === 0) {
      setIndexing(false);
      return;
    }
    setIndexing(true);
    const w = new Worker(new URL('../player/snapshot.worker.ts', import.meta.url), { type: 'module', name: 'vigil-replay-index' });
    w.onmessage = (ev: MessageEvent<SnapshotMessage>) => {
      if (ev.data.done) {
        setIndexing(false);
        w.terminate();
      } else snapshots.current.push({ index: ev.data.index, state: ev.data.state });
    };
    w.onerror = () => setIndexing(false);
    w.postMessage({ cols: track.cols, rows: track.rows, scrollback: SCROLLBACK, chunks: track.chunks, points } satisfies SnapshotRequest);
    return () => w.terminate();
  }, [track]);

  /** Brings the terminal to the state after every chunk at or before time t. */
  const seek = useCallback(
    (t: number) => {
      const x = term.current;
      if (!x) return;
      const started = performance.now();
      const target = chunkAt(track.times, t) + 1;
      let snap = snapshots.current[0]!;
      for (const s of snapshots.current) if (s.index <= target && s.index > snap.index) snap = s;
      if (target >= applied.current && target - applied.current <= target - snap.index) {
        // Forward from where we are: only the new output.
        if (target > applied.current) x.write(joinChunks(track.chunks, applied.current, target));
      } else {
        x.reset();
        if (snap.state) x.write(snap.state);
        x.write(joinChunks(track.chunks, snap.index, target));
      }
      applied.current = target;
      pos.current = t;
      setPosition(t);
      x.write('', () => requestAnimationFrame(() => setSeekMs({ t: Math.round(t), ms: performance.now() - started })));
    },
    [track],
  );

  useEffect(() => {
    if (!playing) return;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      const next = Math.min(track.duration, pos.current + (now - last) * speed);
      last = now;
      const x = term.current;
      const target = chunkAt(track.times, next) + 1;
      if (x && target > applied.current) {
        x.write(joinChunks(track.chunks, applied.current, target));
        applied.current = target;
      }
      pos.current = next;
      setPosition(next);
      if (next >= track.duration) setPlaying(false);
    }, 40);
    return () => clearInterval(timer);
  }, [playing, speed, track]);

  const play = () => {
    if (pos.current >= track.duration) seek(0);
    setPlaying((p) => !p);
  };
  const pct = (t: number) => (track.duration > 0 ? (t / track.duration) * 100 : 0);
  const dense = track.markers.length > 400;
  const markers: Marker[] = dense ? track.markers.filter((m) => m.kind !== 'command') : track.markers;

  return (
    <div className="player" data-testid="terminal-player" data-seek-ms={seekMs?.ms ?? ''} data-seek-for={seekMs?.t ?? ''} data-indexing={indexing ? 'yes' : 'no'} data-position={Math.round(position)}>
      {track.neutralised && (
        <div className="notice small" data-testid="neutralised">
          {track.neutralised}: they could change your clipboard, window title or open links, so the replay leaves them out.
        </div>
      )}
      <div className="screen">
        <div ref={host} data-testid="terminal" />
      </div>
      <div className="controls">
        <button className="primary" onClick={play} aria-label={playing ? 'Pause' : 'Play'}>
          {playing ? '❚❚ Pause' : '▶ Play'}
        </button>
        <label className="small muted">
          Speed{' '}
          <select value={speed} onChange={(e) => setSpeed(Number(e.target.value))} aria-label="Speed">
            {SPEEDS.map((x) => (
              <option key={x} value={x}>
                {x}×
              </option>
            ))}
          </select>
        </label>
        <div className="scrub">
          {markers.map((m, i) => (
            <button
              key={i}
              className={`marker m-${m.kind}`}
              style={{ left: `${pct(m.t)}%` }}
              title={`${clock(m.t)} ${oneLine(m.label, 200)}`}
              aria-label={`${m.kind} at ${clock(m.t)}: ${oneLine(m.label, 120)}`}
              data-marker={m.kind}
              onClick={() => seek(m.t)}
            />
          ))}
          <input
            type="range"
            min={0}
            max={Math.max(1, Math.round(track.duration))}
            step={1}
            value={Math.round(position)}
            onChange={(e) => seek(Number(e.target.value))}
            aria-label="Timeline"
          />
        </div>
        <span className="time" data-testid="clock">
          {clock(position)} / {clock(track.duration)}
        </span>
      </div>
      <div className="legend">
        <span>
          <i className="marker m-command" style={{ position: 'static', display: 'inline-block' }} />
          command{dense ? 's (hidden: too many to show)' : ''}
        </span>
        <span>
          <i className="marker m-approval" style={{ position: 'static', display: 'inline-block' }} />
          approval
        </span>
        <span>
          <i className="marker m-block" style={{ position: 'static', display: 'inline-block' }} />
          blocked / denied
        </span>
        <span>
          <i className="marker m-error" style={{ position: 'static', display: 'inline-block' }} />
          error
        </span>
        {indexing && <span>indexing the recording for fast seeking…</span>}
      </div>
    </div>
  );
}
