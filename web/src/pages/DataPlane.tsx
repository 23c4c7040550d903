// A link's data plane as its agents measure it: bytes and packets through each end's CHILD_SA,
// when traffic last passed, the probes' median round trip, and the SA's age and next rekey.
// Live updates of the link carry no figures, so the section keeps the last ones it saw and reads
// the link again every REFRESH_MS.
import { useEffect, useState } from 'react';
import { apiClient, type Link } from '../api/client';

const REFRESH_MS = 10_000;
type Figures = NonNullable<Link['a']['dataPlane']>;

const bytes = (n: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
};
const time = (iso: string | null): string => (iso ? new Date(iso).toLocaleString() : '—');

export function DataPlane({ link }: { link: Link }) {
  const [figures, setFigures] = useState<{ a?: Figures | null; b?: Figures | null }>({});

  // Figures that come with the link (GET answers) replace what the section holds.
  useEffect(() => {
    setFigures((held) => ({ a: link.a.dataPlane !== undefined ? link.a.dataPlane : held.a, b: link.b.dataPlane !== undefined ? link.b.dataPlane : held.b }));
  }, [link.a.dataPlane, link.b.dataPlane]);

  useEffect(() => {
    if (link.state === 'deleted') return;
    const timer = setInterval(() => {
      apiClient.getLink(link.id).then(
        (fresh) => setFigures({ a: fresh.a.dataPlane ?? null, b: fresh.b.dataPlane ?? null }),
        () => undefined, // the next refresh tries again; the page shows the link's own errors
      );
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [link.id, link.state]);

  const rows: Array<[string, (f: Figures) => string]> = [
    ['Bytes in / out', (f) => `${bytes(f.bytesIn)} / ${bytes(f.bytesOut)}`],
    ['Packets in / out', (f) => `${f.packetsIn} / ${f.packetsOut}`],
    ['Last traffic', (f) => time(f.lastTrafficAt)],
    ['RTT (median, last minute)', (f) => (f.rttP50Ms === null ? '—' : `${f.rttP50Ms.toFixed(1)} ms`)],
    ['Probes', (f) => (f.probes ? `${f.probes.answered} of ${f.probes.sent} answered${f.probes.failStreak > 0 ? `; ${f.probes.failStreak} interval(s) without an answer` : ''}` : 'not probing')],
    ['SA established', (f) => time(f.establishedAt)],
    ['Next rekey', (f) => time(f.rekeyAt)],
    ['Measured', (f) => time(f.measuredAt)],
  ];
  const cell = (side: 'a' | 'b', row: (f: Figures) => string) => {
    const f = figures[side];
    return f ? row(f) : '—';
  };

  return (
    <section aria-labelledby="dataplane-title">
      <h2 id="dataplane-title">Data plane</h2>
      {!figures.a && !figures.b ? (
        <p className="hint">No health report from either end yet.</p>
      ) : (
        <table className="ends-table dataplane">
          <caption className="sr-only">Data-plane figures of each end</caption>
          <thead>
            <tr>
              <th scope="col">Measure</th>
              <th scope="col">{link.a.name}</th>
              <th scope="col">{link.b.name}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([label, row]) => (
              <tr key={label}>
                <th scope="row">{label}</th>
                <td>{cell('a', row)}</td>
                <td>{cell('b', row)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
