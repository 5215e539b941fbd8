// The camera settings form: add (POST, every field) and edit (PATCH, only
// what changed). "Test connection" probes a URL before saving and shows its
// streams or why it failed. The server's field-named errors appear next to
// their field; problems found here read the same way.
import { createSignal, For, Show } from 'solid-js';
import { api, ApiError, errorText } from '../../lib/api';
import type { Camera } from '../../lib/types';
import { Field } from '../../components/ui';
import {
  CameraBody, CameraForm as FormState, createBody, emptyForm, formatFps, formFromCamera, hasMaskedPassword,
  isLocalError, maskUrl, patchBody, probeReasonText, slugify,
} from './logic';

interface ProbeStream {
  kind: 'video' | 'audio';
  codec: string;
  codec_string: string;
  width?: number;
  height?: number;
  fps?: number | null;
  sample_rate?: number;
  channels?: number;
}
export interface ProbeResult {
  url: string;
  ok: boolean;
  duration_ms: number;
  client?: string;
  reason?: string;
  message?: string;
  streams?: ProbeStream[];
}

const FIELDS = ['id', 'name', 'url', 'sub_url', 'enabled', 'record', 'record.enabled', 'record.segment_seconds',
                'record.retention_days', 'record.max_bytes', 'groups', 'adopt_recordings'];

// The field an error names, with "groups[2]" shown on the groups field.
function errorField(err: unknown): string | null {
  if (!(err instanceof ApiError) || !err.field) return null;
  return err.field.startsWith('groups[') ? 'groups' : err.field;
}
function errFor(err: unknown, field: string): string | null {
  if (errorField(err) !== field) return null;
  const e = err as ApiError;
  return e.message.slice(e.field!.length + 2);
}

function codecName(s: ProbeStream): string {
  return s.codec === 'h264' ? 'H.264' : s.codec === 'h265' ? 'H.265' : s.codec === 'aac' ? 'AAC' : s.codec_string || 'unknown';
}

export function ProbeReport(props: { result: ProbeResult }) {
  const r = () => props.result;
  return (
    <div class="probe" classList={{ 'probe-ok': r().ok, 'probe-bad': !r().ok }} role="status" data-testid="probe-result">
      <Show when={r().ok} fallback={
        <>
          <strong>Connection failed</strong> <span class="badge bad">{r().reason || 'error'}</span>
          <p>{probeReasonText(r().reason)}</p>
          <Show when={r().message}><p class="muted mono">{r().message}</p></Show>
        </>
      }>
        <strong>Connected</strong> <span class="muted">in {r().duration_ms} ms</span>
        <ul class="probe-streams">
          <For each={r().streams || []}>
            {(s) => (
              <li>
                <span class="badge">{s.kind}</span>{' '}
                <strong>{codecName(s)}</strong>
                <Show when={s.kind === 'video'}>
                  {' '}<span>{s.width && s.height ? `${s.width}×${s.height}` : 'size unknown'}</span>
                  {' · '}<span>{formatFps(s.fps)}</span>
                </Show>
                <Show when={s.kind === 'audio' && s.sample_rate}>
                  {' '}<span>{s.sample_rate} Hz{s.channels ? ` · ${s.channels} ch` : ''}</span>
                </Show>
                {' '}<code class="muted">{s.codec_string}</code>
              </li>
            )}
          </For>
        </ul>
      </Show>
    </div>
  );
}

// A URL field with its "Test connection" button and the probe's report.
function UrlField(props: {
  label: string; name: 'url' | 'sub_url'; value: string; required?: boolean; error: string | null; hint: string;
  onInput: (v: string) => void; testLabel: string; disabled?: boolean;
}) {
  const [probing, setProbing] = createSignal(false);
  const [result, setResult] = createSignal<ProbeResult | null>(null);
  const [probeErr, setProbeErr] = createSignal<string | null>(null);
  const masked = () => hasMaskedPassword(props.value);

  async function probe() {
    setProbing(true);
    setResult(null);
    setProbeErr(null);
    try {
      setResult(await api.post<ProbeResult>('/api/v1/cameras/probe', { url: props.value.trim() }));
    } catch (e) {
      setProbeErr(e instanceof ApiError && e.field === 'url' ? e.message.slice(5) : errorText(e));
    } finally {
      setProbing(false);
    }
  }

  return (
    <div class="url-field">
      <div class="url-row">
        <Field label={props.label} name={props.name} id={`cam-${props.name}`} type="text" inputmode="url"
               autocomplete="off" spellcheck={false} required={props.required} disabled={props.disabled}
               placeholder={props.disabled ? (props.name === 'sub_url' ? 'none' : undefined) : 'rtsp://user:password@192.0.2.10:554/stream1'}
               value={props.value}
               error={props.error}
               hint={masked() ? 'The password shows as ***: leave the URL as it is to keep it, or retype it.' : props.hint}
               onInput={(e) => { props.onInput(e.currentTarget.value); setResult(null); setProbeErr(null); }} />
        <button type="button" onClick={probe} disabled={props.disabled || probing() || !props.value.trim() || masked()}
                title={masked() ? 'Retype the password to test this URL' : undefined}>
          {probing() ? 'Testing…' : props.testLabel}
        </button>
      </div>
      <Show when={probing()}>
        <p class="muted" role="status">Connecting to {maskUrl(props.value.trim())}…</p>
      </Show>
      <Show when={probeErr()}>
        <p class="form-error" role="alert">Cannot test: {probeErr()}</p>
      </Show>
      <Show when={result()}>{(r) => <ProbeReport result={r()} />}</Show>
    </div>
  );
}

export function CameraForm(props: {
  camera?: Camera; // edit when given
  readOnly?: boolean;
  onSaved: (c: Camera) => void;
  onCancel?: () => void;
}) {
  const editing = () => !!props.camera;
  const [f, setF] = createSignal<FormState>(props.camera ? formFromCamera(props.camera) : emptyForm());
  const [adopt, setAdopt] = createSignal(false);
  // A new camera's id follows its name until the user types an id.
  const [idTouched, setIdTouched] = createSignal(false);
  const [busy, setBusy] = createSignal(false);
  const [err, setErr] = createSignal<unknown>(null);
  const [notice, setNotice] = createSignal<string | null>(null);
  const set = <K extends keyof FormState>(k: K, v: FormState[K]) => {
    setF({ ...f(), [k]: v });
    setNotice(null);
  };
  const e = (field: string) => errFor(err(), field);
  const formLevel = () => {
    const x = err();
    if (!x) return null;
    const field = errorField(x);
    return field && FIELDS.includes(field) ? null : errorText(x);
  };

  async function submit(ev: Event) {
    ev.preventDefault();
    if (props.readOnly) return;
    setErr(null);
    setNotice(null);
    const body: CameraBody | [string, string] = editing() ? patchBody(props.camera!, f()) : createBody(f());
    if (isLocalError(body)) {
      setErr(new ApiError(400, 'invalid', `${body[0]}: ${body[1]}`));
      return;
    }
    if (editing() && Object.keys(body).length === 0) {
      setNotice('Nothing changed.');
      return;
    }
    setBusy(true);
    try {
      const saved = editing()
        ? await api.patch<Camera>(`/api/v1/cameras/${encodeURIComponent(props.camera!.id)}`, body)
        : await api.post<Camera>('/api/v1/cameras', adopt() ? { ...body, adopt_recordings: true } : body);
      if (editing()) {
        setF(formFromCamera(saved));
        setNotice('Saved.');
      }
      props.onSaved(saved);
    } catch (x) {
      setErr(x);
      const field = errorField(x);
      if (field) queueMicrotask(() => document.querySelector<HTMLElement>(`[aria-invalid="true"]`)?.focus());
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="camera-form stack" classList={{ readonly: !!props.readOnly }} onSubmit={submit} novalidate aria-label={editing() ? 'Camera settings' : 'Add a camera'}>
      <fieldset class="stack" disabled={props.readOnly}>
        <legend class="sr-only">Camera</legend>
        <div class="form-grid">
          <Show when={!editing()} fallback={
            <div class="field"><span class="field-label">Id</span><code>{props.camera!.id}</code></div>
          }>
            <Field label="Id" name="id" id="cam-id" required autocomplete="off" spellcheck={false}
                   pattern="[a-z0-9_\-]{1,64}" maxLength={64} value={f().id} error={e('id')}
                   hint="1–64 of a–z, 0–9, _ and -; used in URLs and recordings"
                   onInput={(x) => { setIdTouched(true); set('id', x.currentTarget.value); }} />
          </Show>
          <Field label="Name" name="name" id="cam-name" maxLength={200} value={f().name} error={e('name')}
                 hint="Shown in the UI" onInput={(x) => {
                   const name = x.currentTarget.value;
                   if (!editing() && !idTouched()) setF({ ...f(), name, id: slugify(name) });
                   else set('name', name);
                 }} />
        </div>
        <UrlField label="Main stream URL" name="url" required value={f().url} error={e('url')}
                  hint="rtsp:// or rtsps://, with the camera's user and password"
                  onInput={(v) => set('url', v)} testLabel="Test connection" disabled={props.readOnly} />
        <UrlField label="Sub stream URL (optional)" name="sub_url" value={f().sub_url} error={e('sub_url')}
                  hint="A lower resolution stream for grids and phones"
                  onInput={(v) => set('sub_url', v)} testLabel="Test sub stream" disabled={props.readOnly} />
        <label class="check">
          <input type="checkbox" checked={f().enabled} onChange={(x) => set('enabled', x.currentTarget.checked)} />
          Enabled (connect and record)
        </label>
      </fieldset>
      <fieldset class="stack" disabled={props.readOnly}>
        <legend>Recording</legend>
        <label class="check">
          <input type="checkbox" checked={f().record_enabled} onChange={(x) => set('record_enabled', x.currentTarget.checked)} />
          Record this camera
        </label>
        <div class="form-grid three">
          <Field label="Segment length (s)" name="segment_seconds" id="cam-seg" type="number" min="2" max="3600"
                 inputmode="numeric" value={f().segment_seconds} error={e('record.segment_seconds')}
                 hint="2–3600" onInput={(x) => set('segment_seconds', x.currentTarget.value)} />
          <Field label="Retention (days)" name="retention_days" id="cam-ret" type="number" min="1" max="3650"
                 inputmode="numeric" value={f().retention_days} error={e('record.retention_days')}
                 hint="1–3650" onInput={(x) => set('retention_days', x.currentTarget.value)} />
          <Field label="Storage cap (GiB)" name="max_gib" id="cam-max" type="number" min="0" step="any"
                 inputmode="decimal" value={f().max_gib} error={e('record.max_bytes')}
                 hint="Empty or 0: no cap" onInput={(x) => set('max_gib', x.currentTarget.value)} />
        </div>
        <Field label="Groups" name="groups" id="cam-groups" autocomplete="off" spellcheck={false} value={f().groups}
               error={e('groups')} hint="Comma separated, e.g. outside, lobby (grants name them group:NAME)"
               onInput={(x) => set('groups', x.currentTarget.value)} />
        <Show when={!editing()}>
          <label class="check">
            <input type="checkbox" checked={adopt()} onChange={(x) => setAdopt(x.currentTarget.checked)} />
            Take over the recordings of a deleted camera with this id
          </label>
          <Show when={e('adopt_recordings')}><p class="field-error" role="alert">{e('adopt_recordings')}</p></Show>
        </Show>
      </fieldset>
      <Show when={formLevel()}>
        <p class="form-error" role="alert">{formLevel()}</p>
      </Show>
      <Show when={notice()}>
        <p class="notice" role="status">{notice()}</p>
      </Show>
      <Show when={!props.readOnly}>
        <div class="row">
          <button type="submit" class="primary" disabled={busy()}>
            {busy() ? 'Saving…' : editing() ? 'Save changes' : 'Add camera'}
          </button>
          <Show when={props.onCancel}>
            <button type="button" onClick={() => props.onCancel!()} disabled={busy()}>Cancel</button>
          </Show>
        </div>
      </Show>
    </form>
  );
}
