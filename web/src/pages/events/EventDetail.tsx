// One event in a modal dialog: the large snapshot (with or without its box),
// every detail (zones, tripwire crossings, loitering), and the actions: play
// the clip on the History page, export it to an MP4 and delete (operators).
import { createResource, createSignal, For, onMount, Show } from 'solid-js';
import { api, ApiError, errorText } from '../../lib/api';
import { Link } from '../../lib/router';
import { hasRole } from '../../lib/session';
import type { HorusEvent } from '../../lib/types';
import { ErrorBox, Spinner } from '../../components/ui';
import { formatDuration, formatScore, snapshotUrl } from './logic';

export interface EventDetailProps {
  id: string;
  initial?: HorusEvent;
  cameraName: (id: string) => string;
  onClose: () => void;
  onDeleted: (id: string) => void;
}

const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');

export function EventDetail(props: EventDetailProps) {
  let ref!: HTMLDialogElement;
  const [ev] = createResource(() => props.id, (id) => api.get<HorusEvent>(`/api/v1/events/${encodeURIComponent(id)}`));
  const event = () => (ev.state === 'ready' ? ev() : props.initial);
  const [box, setBox] = createSignal(true);
  const [busy, setBusy] = createSignal(false);
  const [msg, setMsg] = createSignal<string | null>(null);
  const [err, setErr] = createSignal<string | null>(null);
  const [confirmDelete, setConfirmDelete] = createSignal(false);
  onMount(() => ref.showModal());
  const canAct = () => hasRole('operator');

  async function exportClip(e: HorusEvent) {
    setBusy(true);
    setErr(null);
    setMsg(null);
    try {
      await api.post(e.clip.export.url, e.clip.export.body);
      setMsg('Export started.');
    } catch (x) {
      setErr(errorText(x));
    } finally {
      setBusy(false);
    }
  }

  async function remove(e: HorusEvent) {
    setBusy(true);
    setErr(null);
    try {
      await api.del(`/api/v1/events/${encodeURIComponent(e.id)}`);
      props.onDeleted(e.id);
    } catch (x) {
      setErr(errorText(x));
      setBusy(false);
    }
  }

  const notFound = () => ev.error instanceof ApiError && (ev.error as ApiError).status === 404;

  return (
    <dialog ref={ref} class="event-detail" aria-labelledby="event-detail-title" onClose={() => props.onClose()}>
      <header class="row event-detail-head">
        <h2 id="event-detail-title">
          <Show when={event()} fallback="Event">
            {(e) => <><span class="event-label">{e().label}</span>{e().sub_label ? ` · ${e().sub_label}` : ''} on {props.cameraName(e().camera)}</>}
          </Show>
        </h2>
        <button type="button" class="icon-button" aria-label="Close" onClick={() => ref.close()}>✕</button>
      </header>
      <Show when={event()} fallback={
        <Show when={ev.error} fallback={<Spinner label="Loading event…" />}>
          <Show when={notFound()} fallback={<ErrorBox error={ev.error} />}>
            <p class="notice">This event no longer exists (deleted, or past its retention).</p>
          </Show>
        </Show>
      }>
        {(e) => (
          <div class="event-detail-body" data-event={e().id}>
            <figure class="event-snapshot">
              <Show when={snapshotUrl(e(), box())} fallback={<div class="event-thumb none large">No snapshot for this event</div>}>
                {(u) => <img src={u()} alt={`Snapshot of the ${e().label}${box() ? ', its box drawn' : ''}`} />}
              </Show>
              <Show when={e().has_snapshot}>
                <figcaption>
                  <label class="check"><input type="checkbox" checked={box()} onChange={(x) => setBox(x.currentTarget.checked)} /> Show the box</label>
                </figcaption>
              </Show>
            </figure>
            <div class="stack">
              <dl class="event-facts">
                <div><dt>Camera</dt><dd>{props.cameraName(e().camera)}</dd></div>
                <div><dt>Label</dt><dd>{e().label}{e().sub_label ? ` (${e().sub_label})` : ''}</dd></div>
                <div><dt>Score</dt><dd>{formatScore(e().score)} (top {formatScore(e().top_score)})</dd></div>
                <div><dt>Start</dt><dd><time datetime={e().start}>{when(e().start)}</time></dd></div>
                <div><dt>End</dt><dd>{e().end ? when(e().end) : 'ongoing'}</dd></div>
                <div><dt>Duration</dt><dd>{formatDuration(e().start, e().end)}</dd></div>
                <div><dt>Zones</dt><dd>{e().zones.length ? e().zones.join(', ') : 'none'}</dd></div>
                <div><dt>Source</dt><dd>{e().source}</dd></div>
                <div><dt>Kept until</dt><dd>{when(e().retain_until)}</dd></div>
              </dl>
              <Show when={e().details.crossings?.length}>
                <div>
                  <h3>Tripwire crossings</h3>
                  <ul class="plain crossings">
                    <For each={e().details.crossings}>
                      {(c) => <li><strong>{c.tripwire}</strong> {c.direction === 'a_to_b' ? 'A → B' : 'B → A'} at {when(c.at)}</li>}
                    </For>
                  </ul>
                </div>
              </Show>
              <Show when={e().details.loiters?.length}>
                <div>
                  <h3>Loitering</h3>
                  <ul class="plain loiters">
                    <For each={e().details.loiters}>
                      {(l) => <li><strong>{l.zone}</strong>: since {when(l.since)}, reported {when(l.at)}</li>}
                    </For>
                  </ul>
                </div>
              </Show>
              <Show when={msg()}><p class="notice" role="status">{msg()} <Link href="/exports">See exports</Link></p></Show>
              <Show when={err()}><p class="form-error" role="alert">{err()}</p></Show>
              <div class="row event-actions">
                <Link class="button primary" href={`/history/${encodeURIComponent(e().camera)}?t=${Date.parse(e().clip.start)}`}>Play clip</Link>
                <Show when={canAct()}>
                  <button type="button" onClick={() => void exportClip(e())} disabled={busy()}>Export clip</button>
                  <Show when={!confirmDelete()} fallback={
                    <span class="row confirm-inline" role="group" aria-label="Confirm delete">
                      <span>Delete this event and its snapshots?</span>
                      <button type="button" class="danger" onClick={() => void remove(e())} disabled={busy()}>Yes, delete</button>
                      <button type="button" onClick={() => setConfirmDelete(false)} disabled={busy()}>Keep</button>
                    </span>
                  }>
                    <button type="button" class="danger" onClick={() => setConfirmDelete(true)} disabled={busy()}>Delete…</button>
                  </Show>
                </Show>
              </div>
            </div>
          </div>
        )}
      </Show>
    </dialog>
  );
}
