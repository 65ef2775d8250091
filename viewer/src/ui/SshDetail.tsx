import type { ReactNode } from 'react';
import { formatTimeMs } from '../model/approval-timeline.ts';
import { absoluteTime } from '../model/csv.ts';
import { formatBytes } from '../model/sessions.ts';
import { channelEnd, hostPort, type Fact, type Forward, type SshChannel, type Transfer } from '../model/ssh.ts';
import { oneLine } from './Text.tsx';

const NOT_RECORDED = <span className="unknown">not recorded</span>;

function FactList({ facts }: { facts: Fact[] }) {
  return (
    <dl className="kv">
      {facts.map((f, i) => (
        <FactRow key={i} f={f} />
      ))}
    </dl>
  );
}

function FactRow({ f }: { f: Fact }) {
  return (
    <>
      <dt>{f.label}</dt>
      <dd className={f.mono ? 'mono small' : undefined} style={{ overflowWrap: 'anywhere' }}>
        {f.value === 'not recorded' ? NOT_RECORDED : oneLine(f.value, 300)}
      </dd>
    </>
  );
}

/** The two SSH logins: the client's (its certificate or listed key) and Vigil's to the target. */
export function SshLogins({ client, target }: { client: Fact[]; target: Fact[] | null }) {
  return (
    <div className="grid2" style={{ marginBottom: 16 }}>
      <section className="card" data-testid="ssh-client-login">
        <h2>Client login (SSH)</h2>
        {client.length ? <FactList facts={client} /> : <p className="muted small">No identity was verified in this session.</p>}
      </section>
      <section className="card" data-testid="ssh-target-login">
        <h2>Vigil's login to the target</h2>
        {target ? (
          <FactList facts={target} />
        ) : (
          <p className="muted small">
            No <span className="mono">target-connected</span> notice: the recording does not say how (or whether) Vigil logged in to the target.
          </p>
        )}
      </section>
    </div>
  );
}

function Table({ testId, head, rows, empty }: { testId: string; head: string[]; rows: ReactNode[][]; empty: string }) {
  if (rows.length === 0) return <p className="muted small" data-testid={testId}>{empty}</p>;
  return (
    <div style={{ overflowX: 'auto' }}>
      <table className="result ssh-table" data-testid={testId}>
        <thead>
          <tr>
            {head.map((h) => (
              <th key={h}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              {r.map((c, j) => (
                <td key={j}>{c}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const bytes = (n: number | null) => (n === null ? NOT_RECORDED : <span title={`${n.toLocaleString('en')} bytes`}>{formatBytes(n)}</span>);

/** Channels, file transfers and port forwards of an SSH session. */
export function SshTables({ channels, transfers, forwards, startedAt, onChannel }: { channels: SshChannel[]; transfers: Transfer[]; forwards: Forward[]; startedAt: string | undefined; onChannel: (key: number) => void }) {
  const at = (t: number | null) => (t === null ? NOT_RECORDED : formatTimeMs(absoluteTime(startedAt, t)).slice(11));
  return (
    <div className="ssh-tables">
      <section className="card">
        <h2>Channels</h2>
        <Table
          testId="ssh-channels"
          head={['#', 'Kind', 'Command', 'Terminal', 'Opened', 'Closed', 'Ended', 'Output', '']}
          empty="No channel.open event in this recording (an archive with one terminal, written before channels were recorded, has none)."
          rows={channels.map((c) => [
            <span className="mono">{c.channel}</span>,
            oneLine(c.kind, 32),
            c.command ? (
              <span className="mono cell-clip" title={oneLine(c.command, 2000)}>
                {oneLine(c.command, 120)}
              </span>
            ) : (
              <span className="muted">—</span>
            ),
            c.pty ? `${oneLine(c.pty.term ?? '', 32)} ${c.pty.cols}×${c.pty.rows}` : <span className="muted">none</span>,
            at(c.openT),
            at(c.closeT),
            c.closed && (c.exitStatus !== null || c.exitSignal !== null) ? channelEnd(c) : <span className="unknown">{channelEnd(c)}</span>,
            formatBytes(c.outputBytes),
            <button className="small" onClick={() => onChannel(c.key)} aria-label={`Replay channel ${c.channel}`}>
              Replay
            </button>,
          ])}
        />
      </section>
      <section className="card">
        <h2>File transfers</h2>
        <Table
          testId="ssh-transfers"
          head={['Time', 'Path', 'Direction', 'Size', 'SHA-256', 'Outcome']}
          empty="No file transfer was recorded in this session."
          rows={transfers.map((x) => [
            at(x.t),
            <span className="mono">{oneLine(x.path, 200)}</span>,
            x.direction === 'upload' ? 'upload (client → target)' : x.direction === 'download' ? 'download (target → client)' : oneLine(x.direction, 32),
            bytes(x.bytes),
            x.sha256 ? <span className="sha" data-testid="sha256">{x.sha256}</span> : <span className="unknown">{x.outcome === 'complete' ? 'not recorded' : 'none (not complete)'}</span>,
            <span className={`badge ${x.outcome === 'complete' ? 'allow' : 'block'}`}>
              {oneLine(x.outcome, 32)}
              {x.reason ? `: ${oneLine(x.reason, 200)}` : ''}
            </span>,
          ])}
        />
      </section>
      <section className="card">
        <h2>Port forwards</h2>
        <Table
          testId="ssh-forwards"
          head={['Channel', 'Destination', 'Origin', 'Opened', 'Closed', 'Bytes in (target → client)', 'Bytes out (client → target)', 'Reason']}
          empty="No port forward was recorded in this session."
          rows={forwards.map((f) => [
            <span className="mono">{f.channel}</span>,
            <span className="mono">{oneLine(hostPort(f.host, f.port), 300)}</span>,
            f.origin ? <span className="mono">{oneLine(f.origin, 300)}</span> : <span className="muted">—</span>,
            at(f.openT),
            at(f.closeT),
            bytes(f.bytesIn),
            bytes(f.bytesOut),
            f.reason ? oneLine(f.reason, 200) : <span className="muted">—</span>,
          ])}
        />
      </section>
    </div>
  );
}
