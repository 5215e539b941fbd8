// A month of days in the browser's time zone with the recorded ones marked
// (the recordings endpoint's `days`, at the zone's offset that month); a day
// picked opens it on the timeline at its first recording.
import { createMemo, createResource, createSignal, For, Show } from 'solid-js';
import { api, qs } from '../../lib/api';
import { ErrorBox, Spinner } from '../../components/ui';
import { dateKey, dayStart, formatDuration, Interval, nextDay, offsetParam, SECOND, wallTime } from './timeline';

interface DaysReply {
  spans: { start: string; end: string }[];
  days: { date: string; recorded_s: number }[];
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

export function Calendar(props: {
  id: string;
  camera: string;
  tz: string;
  now: number;
  selectedDay: number;
  onPick: (day: Interval, firstRecording: number | null) => void;
}) {
  const w0 = wallTime(props.selectedDay, props.tz);
  const [month, setMonth] = createSignal({ year: w0.year, month: w0.month });
  const [picking, setPicking] = createSignal<string | null>(null);
  const [pickError, setPickError] = createSignal<unknown>(null);

  const bounds = createMemo(() => {
    const m = month();
    const start = dayStart(`${m.year}-${pad(m.month)}-01`, props.tz);
    const ny = m.month === 12 ? m.year + 1 : m.year;
    const nm = m.month === 12 ? 1 : m.month + 1;
    const end = dayStart(`${ny}-${pad(nm)}-01`, props.tz);
    return { start, end, key: `${props.camera}|${m.year}-${m.month}` };
  });

  const [days, { refetch }] = createResource(bounds, async (b) => {
    const end = Math.min(b.end, Date.now());
    if (end <= b.start) return new Map<string, number>();
    const r = await api.get<DaysReply>(`/api/v1/cameras/${encodeURIComponent(props.camera)}/recordings${qs({
      start: b.start, end, tz: offsetParam(b.start + (end - b.start) / 2, props.tz),
    })}`);
    return new Map(r.days.filter((d) => d.recorded_s > 0).map((d) => [d.date, d.recorded_s]));
  });

  // The grid: leading blanks so the 1st falls on its weekday (weeks start on Monday).
  const cells = createMemo(() => {
    const m = month();
    const first = new Date(Date.UTC(m.year, m.month - 1, 1)).getUTCDay();
    const lead = (first + 6) % 7;
    const count = new Date(Date.UTC(m.year, m.month, 0)).getUTCDate();
    const out: Array<{ key: string; day: number } | null> = Array.from({ length: lead }, () => null);
    for (let d = 1; d <= count; d++) out.push({ key: `${m.year}-${pad(m.month)}-${pad(d)}`, day: d });
    return out;
  });

  const shift = (n: number) => setMonth((m) => {
    const i = m.year * 12 + (m.month - 1) + n;
    return { year: Math.floor(i / 12), month: (i % 12) + 1 };
  });
  const today = () => dateKey(props.now, props.tz);
  const current = () => dateKey(props.selectedDay, props.tz);
  const futureMonth = () => bounds().end > Date.now() && month().year * 12 + month().month >= (wallTime(props.now, props.tz).year * 12 + wallTime(props.now, props.tz).month);

  async function pick(key: string) {
    setPicking(key);
    setPickError(null);
    const start = dayStart(key, props.tz);
    const end = nextDay(start, props.tz);
    try {
      const r = await api.get<DaysReply>(`/api/v1/cameras/${encodeURIComponent(props.camera)}/recordings${qs({
        start, end: Math.min(end, Date.now()),
      })}`);
      const first = r.spans.length ? Date.parse(r.spans[0].start) : null;
      props.onPick({ start, end }, first);
    } catch (e) {
      setPickError(e);
    } finally {
      setPicking(null);
    }
  }

  return (
    <section id={props.id} class="card calendar" aria-label="Recorded days">
      <div class="calendar-head">
        <button type="button" class="icon-button" onClick={() => shift(-1)} aria-label="Previous month">‹</button>
        <h2 aria-live="polite">{MONTHS[month().month - 1]} {month().year}</h2>
        <button type="button" class="icon-button" onClick={() => shift(1)} aria-label="Next month" disabled={futureMonth()}>›</button>
      </div>
      <Show when={!days.error} fallback={<ErrorBox error={days.error} onRetry={refetch} />}>
        <div class="calendar-grid" role="grid" aria-label={`${MONTHS[month().month - 1]} ${month().year}`} aria-busy={days.loading}>
          <div class="calendar-row" role="row">
            <For each={WEEKDAYS}>{(d) => <span class="calendar-wd" role="columnheader">{d}</span>}</For>
          </div>
          <For each={Array.from({ length: Math.ceil(cells().length / 7) }, (_, i) => cells().slice(i * 7, i * 7 + 7))}>
            {(week) => (
              <div class="calendar-row" role="row">
                <For each={week}>
                  {(c) => (
                    <span role="gridcell">
                      <Show when={c}>
                        {(cell) => {
                          const rec = () => days()?.get(cell().key) || 0;
                          return (
                            <button type="button" class="calendar-day" disabled={!rec() || picking() !== null}
                                    classList={{ recorded: rec() > 0, today: cell().key === today(), current: cell().key === current() }}
                                    aria-current={cell().key === current() ? 'date' : undefined}
                                    aria-label={`${cell().day} ${MONTHS[month().month - 1]} ${month().year}: ${rec() ? `${formatDuration(rec() * SECOND)} recorded` : 'nothing recorded'}`}
                                    title={rec() ? `${formatDuration(rec() * SECOND)} recorded` : 'Nothing recorded'}
                                    onClick={() => void pick(cell().key)}>
                              {cell().day}
                            </button>
                          );
                        }}
                      </Show>
                    </span>
                  )}
                </For>
              </div>
            )}
          </For>
        </div>
        <Show when={days.loading}><Spinner label="Loading recorded days…" /></Show>
        <Show when={!days.loading && days() && days()!.size === 0}>
          <p class="muted">Nothing recorded this month.</p>
        </Show>
      </Show>
      <Show when={pickError()}><ErrorBox error={pickError()} /></Show>
    </section>
  );
}
