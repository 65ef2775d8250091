import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { formatTimeMs } from '../model/approval-timeline.ts';
import { absoluteTime } from '../model/csv.ts';
import { chunkAt, joinChunks, snapshotPoints, terminalTrack, type Marker, type TerminalTrack } from '../model/replay.ts';
import type { Resize } from '../model/ssh-replay.ts';
import type { SnapshotMessage, SnapshotRequest } from '../player/snapshot.worker.ts';
import { oneLine } from './Text.tsx';

const SCROLLBACK = 1000;
const SPEEDS = [0.5, 1, 2, 4, 8, 16, 32];

/** m:ss (h:mm:ss); with `tenths` (short recordings, where whole seconds would all read 0:00) m:ss.t. */
function clock(ms: number, tenths = false): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0') + (tenths ? `.${Math.floor((Math.max(0, ms) % 1000) / 100)}` : '');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Seconds a left/right arrow moves the playhead (shift: ten times as far). */
const STEP_MS = 5000;

type Track = TerminalTrack & { resizes?: Resize[] };

/**
 * The replay as a list of steps on one clock: output chunks, and resizes (which happen between chunks).
 * Without resizes a step is a chunk, and the snapshot worker's indexes are step indexes.
 */
interface Steps {
  times: number[];
  /** Chunk index, or -1 - i for resize i. */
  refs: number[];
}

function stepsOf(track: Track): Steps | null {
  const rs = track.resizes ?? [];
  if (rs.length === 0) return null;
  const times: number[] = [];
  const refs: number[] = [];
  let ri = 0;
  for (let i = 0; i <= track.chunks.length; i++) {
    while (ri < rs.length && rs[ri]!.index <= i) {
      times.push(rs[ri]!.t);
      refs.push(-1 - ri);
      ri++;
    }
    if (i < track.chunks.length) {
      times.push(track.times[i]!);
      refs.push(i);
    }
  }
  return { times, refs };
}

export interface PlayerProps {
  /** A database-less terminal session's events (one terminal), or a prepared track (an SSH channel). */
  events?: EvidenceEvent[];
  track?: Track;
  /** When the session started (ISO): the clock then shows the playhead's UTC time. */
  startedAt?: string | undefined;
  /** Show tenths of a second on the clock (short recordings: whole seconds would all read 0:00). */
  tenths?: boolean;
  /** Where to start (ms on the track's clock). */
  initialPosition?: number;
  /** Rendered beside the terminal with the playhead and a seek function (the command list). */
  aside?: (position: number, seek: (t: number) => void) => ReactNode;
}

/**
 * Terminal replay in xterm.js. Output is filtered of control strings first (model/terminal-filter.ts);
 * the terminal has no input, no link opening, no clipboard and no window reports. Seeking restores the
 * nearest snapshot (built in a worker) and writes only what follows it. A track with resizes replays them
 * in order (and seeks back by replaying from the start: snapshots are taken at one size).
 * Keyboard: space plays or pauses, ←/→ move 5 s (shift: 50 s), Home/End jump to the ends.
 */
export function TerminalPlayer(props: PlayerProps) {
  const { events } = props;
  const given = props.track;
  const track = useMemo<Track>(() => given ?? terminalTrack(events ?? []), [given, events]);
  const steps = useMemo(() => stepsOf(track), [track]);
  const stepTimes = steps ? steps.times : track.times;
  const [size, setSize] = useState({ cols: track.cols, rows: track.rows });
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
    setSize({ cols: track.cols, rows: track.rows });
    return () => {
      t.dispose();
      term.current = null;
    };
  }, [track]);

  useEffect(() => {
    snapshots.current = [{ index: 0, state: '' }];
    const points = steps ? [] : snapshotPoints(track);
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
  }, [track, steps]);

  /** Writes steps [from, to): chunks in one write per run, resizes between them. */
  const writeSteps = useCallback(
    (x: Terminal, from: number, to: number) => {
      if (!steps) {
        if (to > from) x.write(joinChunks(track.chunks, from, to));
        return;
      }
      let run = -1;
      const flush = (end: number) => {
        if (run >= 0) x.write(joinChunks(track.chunks, steps.refs[run]!, steps.refs[end - 1]! + 1));
        run = -1;
      };
      for (let i = from; i < to; i++) {
        const ref = steps.refs[i]!;
        if (ref >= 0) {
          if (run < 0) run = i;
          continue;
        }
        flush(i);
        const r = track.resizes![-1 - ref]!;
        x.resize(r.cols, r.rows);
        setSize({ cols: r.cols, rows: r.rows });
      }
      flush(to);
    },
    [steps, track],
  );

  /** Brings the terminal to the state after every chunk at or before time t. */
  const seek = useCallback(
    (t: number) => {
      const x = term.current;
      if (!x) return;
      const started = performance.now();
      const target = chunkAt(stepTimes, t) + 1;
      let snap = snapshots.current[0]!;
      for (const s of snapshots.current) if (s.index <= target && s.index > snap.index) snap = s;
      if (target >= applied.current && target - applied.current <= target - snap.index) {
        // Forward from where we are: only the new output.
        writeSteps(x, applied.current, target);
      } else {
        x.reset();
        if (steps) {
          x.resize(track.cols, track.rows);
          setSize({ cols: track.cols, rows: track.rows });
        }
        if (snap.state) x.write(snap.state);
        writeSteps(x, snap.index, target);
      }
      applied.current = target;
      pos.current = t;
      setPosition(t);
      x.write('', () => requestAnimationFrame(() => setSeekMs({ t: Math.round(t), ms: performance.now() - started })));
    },
    [track, steps, stepTimes, writeSteps],
  );

  // A channel opened at a playhead (the command list switched channels) starts there.
  const initial = props.initialPosition;
  useEffect(() => {
    if (initial && initial > 0) seek(Math.min(initial, track.duration));
  }, [initial, seek, track]);

  useEffect(() => {
    if (!playing) return;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      const next = Math.min(track.duration, pos.current + (now - last) * speed);
      last = now;
      const x = term.current;
      const target = chunkAt(stepTimes, next) + 1;
      if (x && target > applied.current) {
        writeSteps(x, applied.current, target);
        applied.current = target;
      }
      pos.current = next;
      setPosition(next);
      if (next >= track.duration) setPlaying(false);
    }, 40);
    return () => clearInterval(timer);
  }, [playing, speed, track, stepTimes, writeSteps]);

  const play = () => {
    if (pos.current >= track.duration) seek(0);
    setPlaying((p) => !p);
  };
  const onKey = (e: KeyboardEvent<HTMLDivElement>) => {
    const el = e.target as HTMLElement;
    // The speed list and the timeline slider keep their own keys.
    if (el.tagName === 'SELECT' || (el.tagName === 'INPUT' && e.key !== ' ')) return;
    if (el.tagName === 'BUTTON' && (e.key === ' ' || e.key === 'Enter')) return; // the button's own click
    if (el.closest('[data-player-keys=own]')) return; // the command list, whose items are buttons
    const step = e.shiftKey ? STEP_MS * 10 : STEP_MS;
    if (e.key === ' ') play();
    else if (e.key === 'ArrowLeft') seek(Math.max(0, pos.current - step));
    else if (e.key === 'ArrowRight') seek(Math.min(track.duration, pos.current + step));
    else if (e.key === 'Home') seek(0);
    else if (e.key === 'End') seek(track.duration);
    else return;
    e.preventDefault();
  };
  const tenths = props.tenths === true && track.duration < 600_000;
  const utc = props.startedAt ? formatTimeMs(absoluteTime(props.startedAt, position)) : null;
  const pct = (t: number) => (track.duration > 0 ? (t / track.duration) * 100 : 0);
  const dense = track.markers.length > 400;
  const markers: Marker[] = dense ? track.markers.filter((m) => m.kind !== 'command') : track.markers;

  return (
    <div
      className="player"
      data-testid="terminal-player"
      data-seek-ms={seekMs?.ms ?? ''}
      data-seek-for={seekMs?.t ?? ''}
      data-indexing={indexing ? 'yes' : 'no'}
      data-position={Math.round(position)}
      data-playing={playing ? 'yes' : 'no'}
      data-size={`${size.cols}x${size.rows}`}
      tabIndex={0}
      onKeyDown={onKey}
      aria-label="Replay (space: play or pause, arrows: move 5 seconds)"
    >
      {track.neutralised && (
        <div className="notice small" data-testid="neutralised">
          {track.neutralised}: they could change your clipboard, window title or open links, so the replay leaves them out.
        </div>
      )}
      <div className={props.aside ? 'player-body' : undefined}>
        <div className="screen">
          <div ref={host} data-testid="terminal" />
        </div>
        {props.aside?.(position, seek)}
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
          {clock(position, tenths)} / {clock(track.duration, tenths)}
        </span>
        {utc && (
          <span className="time utc" data-testid="utc-clock" title="the playhead's time (UTC), from the session's start and each event's recorded offset">
            {utc}
          </span>
        )}
        <span className="muted small" data-testid="terminal-size" title="the terminal size the client recorded (channel.open's pty, then each resize)">
          {size.cols}×{size.rows}
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
        {markers.some((m) => m.kind === 'held') && (
          <span>
            <i className="marker m-held" style={{ position: 'static', display: 'inline-block' }} />
            held for approval
          </span>
        )}
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
