import { useMemo, useState } from 'react';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { formatTimeMs } from '../model/approval-timeline.ts';
import { absoluteTime } from '../model/csv.ts';
import { channelEnd, type SshChannel, type SshCommand } from '../model/ssh.ts';
import { channelTrack, currentCommand } from '../model/ssh-replay.ts';
import { TerminalPlayer } from './TerminalPlayer.tsx';
import { oneLine } from './Text.tsx';

const MARK_WORDS: Record<string, string> = { allowed: 'allowed', blocked: 'blocked', denied: 'denied', held: 'held for approval', approved: 'held → approved', expired: 'held → expired', undecided: 'no decision recorded' };

export function channelLabel(c: SshChannel): string {
  return `#${c.channel} ${c.kind}${c.command ? `: ${oneLine(c.command, 60)}` : ''} (${channelEnd(c)})`;
}

/**
 * An SSH session's replay: one channel at a time in the terminal player, on the session's clock, beside
 * the session's commands (the current one follows the playhead; a click plays from it, on its channel).
 */
export function SshReplay(props: { events: EvidenceEvent[]; channels: SshChannel[]; commands: SshCommand[]; startedAt: string | undefined; channelKey: number | null; onChannel: (key: number) => void }) {
  const { events, channels, commands } = props;
  const key = props.channelKey ?? channels.find((c) => c.outputBytes > 0)?.key ?? channels[0]?.key ?? null;
  const [start, setStart] = useState(0);
  const track = useMemo(() => (key === null ? null : channelTrack(events, key, commands)), [events, key, commands]);
  const chan = key === null ? undefined : channels[key];
  if (key === null || !track || !chan) return <p className="empty">No channel was opened in this session.</p>;
  return (
    <div data-testid="ssh-replay">
      <div className="actions" style={{ marginBottom: 8 }}>
        <label className="small">
          Channel{' '}
          <select
            aria-label="Channel"
            data-testid="channel-select"
            value={key}
            onChange={(e) => {
              setStart(0);
              props.onChannel(Number(e.target.value));
            }}
          >
            {channels.map((c) => (
              <option key={c.key} value={c.key}>
                {channelLabel(c)}
              </option>
            ))}
          </select>
        </label>
        <span className="muted small" data-testid="channel-facts">
          {chan.pty ? `terminal ${oneLine(chan.pty.term ?? '', 32)} ${chan.pty.cols}×${chan.pty.rows}` : 'no terminal (stdout and stderr as the client showed them)'} · {channelEnd(chan)}
          {chan.withheld > 0 && ` · ${chan.withheld} typed bytes withheld (password prompt)`}
        </span>
      </div>
      {chan.outputBytes === 0 && <div className="notice small">This channel recorded no output{chan.reason ? ` (${oneLine(chan.reason, 200)})` : ''}.</div>}
      <TerminalPlayer
        key={key}
        track={track}
        startedAt={props.startedAt}
        initialPosition={start}
        tenths
        aside={(position, seek) => {
          const cur = currentCommand(commands, position, key);
          const c = commands[cur];
          const on = c?.channelKey !== null && c?.channelKey !== undefined ? channels[c.channelKey] : undefined;
          return (
            <div className="ssh-aside">
            <ol className="stmt-list ssh-commands" aria-label="Commands" data-testid="command-list" data-player-keys="own">
              {commands.length === 0 && <li className="muted">No commands recorded.</li>}
              {commands.map((c, i) => (
                <li key={i} aria-selected={i === cur} aria-current={i === cur ? 'step' : undefined} className={`mark-${c.mark}${c.channelKey === key ? ' on-channel' : ''}`} data-mark={c.mark} data-channel={c.channel ?? ''} title={oneLine(c.text, 500)}>
                  <button
                    onClick={() => {
                      if (c.channelKey !== null && c.channelKey !== key) {
                        setStart(c.t);
                        props.onChannel(c.channelKey);
                      } else seek(c.t);
                    }}
                  >
                    <span className="when">{formatTimeMs(absoluteTime(props.startedAt, c.t)).slice(11)}</span> <span className={`badge ${c.mark}`}>{MARK_WORDS[c.mark] ?? c.mark}</span>{' '}
                    <span className="muted">ch {c.channel ?? '?'}</span> {oneLine(c.text, 120)}
                  </button>
                </li>
              ))}
            </ol>
            {c && (
              <div className="card small ssh-current" data-testid="current-command">
                <div>
                  <strong>#{c.id ?? '?'}</strong> on channel {c.channel ?? '?'} · <span className={`badge ${c.mark}`}>{MARK_WORDS[c.mark] ?? c.mark}</span>
                </div>
                <pre className="cmd">{oneLine(c.text, 2000)}</pre>
                {c.rule && <div>Rule: {oneLine(c.rule, 200)}</div>}
                {c.reason && <div>Reason: {oneLine(c.reason, 600)}</div>}
                {c.held && (
                  <div>
                    {c.mark === 'approved' ? `Approved by ${(c.approvedBy ?? []).map((a) => oneLine(a, 80)).join(', ') || 'not recorded'}` : `Held; final decision: ${MARK_WORDS[c.mark] ?? c.mark}`}
                    {c.decidedT !== undefined && ` at ${formatTimeMs(absoluteTime(props.startedAt, c.decidedT)).slice(11)}`}
                  </div>
                )}
                {on && <div>Channel ended: {channelEnd(on)}</div>}
              </div>
            )}
            </div>
          );
        }}
      />
    </div>
  );
}
