// Pieces the admin pages and the account page share: role and camera-grant
// pickers, a confirmation dialog, a copy button, tables that scroll on narrow
// screens, and the list of a user's sessions with revoke.
import { createEffect, createResource, createSignal, For, JSX, Show } from 'solid-js';
import { api, errorText, qs } from '../../lib/api';
import { hasRole } from '../../lib/session';
import type { Camera, CameraList, Role } from '../../lib/types';
import { Empty, ErrorBox, Spinner } from '../../components/ui';
import { agentLabel, formatTime, type Grant, groupsOf, relativeTime, toggleGrant } from './format';
import type { Session } from './types';
import './admin.css';

export const ROLES: Role[] = ['viewer', 'operator', 'admin', 'superadmin'];

// The roles the signed-in user may hand out (the server refuses higher ones).
export function assignableRoles(): Role[] {
  return ROLES.filter((r) => hasRole(r));
}

let uid = 0;
export function newId(prefix: string): string {
  uid += 1;
  return `${prefix}-${uid}`;
}

export function SelectField(props: {
  label: string;
  value: string;
  options: { value: string; label: string }[];
  onChange: (v: string) => void;
  error?: string | null;
  hint?: string;
  name?: string;
  disabled?: boolean;
}) {
  const id = newId('sel');
  return (
    <div class="field" classList={{ invalid: !!props.error }}>
      <label for={id}>{props.label}</label>
      <select id={id} name={props.name} value={props.value} disabled={props.disabled}
              aria-invalid={props.error ? 'true' : undefined}
              aria-describedby={props.error ? `${id}-err` : props.hint ? `${id}-hint` : undefined}
              onChange={(e) => props.onChange(e.currentTarget.value)}>
        <For each={props.options}>{(o) => <option value={o.value} selected={o.value === props.value}>{o.label}</option>}</For>
      </select>
      <Show when={props.error}>
        <span class="field-error" id={`${id}-err`} role="alert">{props.error}</span>
      </Show>
      <Show when={!props.error && props.hint}>
        <span class="field-hint" id={`${id}-hint`}>{props.hint}</span>
      </Show>
    </div>
  );
}

// Every camera the caller may see (all pages of GET /api/v1/cameras).
export async function loadAllCameras(): Promise<Camera[]> {
  const out: Camera[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 20; i++) {
    const page: CameraList = await api.get<CameraList>(`/api/v1/cameras${qs({ limit: 1000, cursor })}`);
    out.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return out;
}

// "All cameras" or a choice of cameras and camera groups ("group:NAME").
// Entries of the grant that are not among the listed cameras (another
// tenant's, deleted ones) stay listed so that saving does not drop them.
export function GrantPicker(props: { value: Grant; onChange: (g: Grant) => void; error?: string | null; legend?: string }) {
  const [cameras] = createResource(loadAllCameras);
  const name = newId('grant');
  const chosen = () => (props.value === '*' ? [] : props.value);
  const groups = () => groupsOf(cameras() || []).map((g) => `group:${g}`);
  const others = () => {
    const known = new Set([...(cameras() || []).map((c) => c.id), ...groups()]);
    return chosen().filter((x) => !known.has(x));
  };
  const box = (entry: string, label: string, sub?: string) => (
    <label class="check">
      <input type="checkbox" checked={chosen().includes(entry)}
             onChange={(e) => props.onChange(toggleGrant(chosen(), entry, e.currentTarget.checked))} />
      <span>{label}</span>
      <Show when={sub}><span class="muted small">{sub}</span></Show>
    </label>
  );
  return (
    <fieldset class="grant" classList={{ invalid: !!props.error }}>
      <legend>{props.legend || 'Cameras'}</legend>
      <div class="row">
        <label class="check">
          <input type="radio" name={name} checked={props.value === '*'} onChange={() => props.onChange('*')} />
          <span>All cameras</span>
        </label>
        <label class="check">
          <input type="radio" name={name} checked={props.value !== '*'}
                 onChange={() => props.onChange(props.value === '*' ? [] : props.value)} />
          <span>Chosen cameras and groups</span>
        </label>
      </div>
      <Show when={props.value !== '*'}>
        <Show when={!cameras.loading} fallback={<Spinner label="Loading cameras…" />}>
          <Show when={!cameras.error} fallback={<p class="form-error">Cameras cannot be listed: {errorText(cameras.error)}</p>}>
            <Show when={groups().length > 0}>
              <div class="grant-list" role="group" aria-label="Camera groups">
                <For each={groups()}>{(g) => box(g, g.slice(6), 'group')}</For>
              </div>
            </Show>
            <Show when={(cameras() || []).length > 0} fallback={<p class="muted">No cameras yet.</p>}>
              <div class="grant-list" role="group" aria-label="Cameras">
                <For each={cameras()}>{(c) => box(c.id, c.name || c.id, c.name && c.name !== c.id ? c.id : undefined)}</For>
              </div>
            </Show>
            <Show when={others().length > 0}>
              <div class="grant-list" role="group" aria-label="Other granted entries">
                <For each={others()}>{(x) => box(x, x, 'not listed')}</For>
              </div>
            </Show>
            <Show when={chosen().length === 0}>
              <p class="field-hint">Nothing chosen: no camera at all.</p>
            </Show>
          </Show>
        </Show>
      </Show>
      <Show when={props.error}>
        <span class="field-error" role="alert">{props.error}</span>
      </Show>
    </fieldset>
  );
}

export interface ConfirmRequest {
  title: string;
  body: JSX.Element;
  confirmLabel: string;
  danger?: boolean;
  action: () => Promise<unknown>;
}

// A modal confirmation: the request names the action; the dialog runs it and
// closes on success, or shows the error and stays open.
export function ConfirmDialog(props: { request: ConfirmRequest | null; onClose: () => void }) {
  let ref!: HTMLDialogElement;
  const [busy, setBusy] = createSignal(false);
  const [err, setErr] = createSignal<unknown>(null);
  const titleId = newId('dlg');
  createEffect(() => {
    const r = props.request;
    if (r && !ref.open) {
      setErr(null);
      ref.showModal();
    } else if (!r && ref.open) {
      ref.close();
    }
  });
  async function confirm() {
    const r = props.request;
    if (!r) return;
    setBusy(true);
    setErr(null);
    try {
      await r.action();
      props.onClose();
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  }
  return (
    <dialog ref={ref} aria-labelledby={titleId} onClose={() => { if (props.request) props.onClose(); }}>
      <div class="stack">
        <h2 id={titleId}>{props.request?.title}</h2>
        <div>{props.request?.body}</div>
        <Show when={err()}>
          <p class="form-error" role="alert">{errorText(err())}</p>
        </Show>
        <div class="row dialog-actions">
          <button type="button" onClick={() => props.onClose()}>Cancel</button>
          <button type="button" class={props.request?.danger ? 'danger' : 'primary'} disabled={busy()} onClick={confirm}>
            {busy() ? 'Working…' : props.request?.confirmLabel}
          </button>
        </div>
      </div>
    </dialog>
  );
}

// Copies text to the clipboard; says so, or asks to copy by hand when the
// browser refuses (an insecure origin, a denied permission).
export function CopyButton(props: { text: string; label?: string }) {
  const [state, setState] = createSignal<'idle' | 'copied' | 'failed'>('idle');
  async function copy() {
    try {
      await navigator.clipboard.writeText(props.text);
      setState('copied');
    } catch {
      setState('failed');
    }
  }
  return (
    <span class="copy">
      <button type="button" onClick={copy}>{props.label || 'Copy'}</button>
      <span class="muted small" role="status">
        {state() === 'copied' ? 'Copied.' : state() === 'failed' ? 'Copying is blocked here: select the text and copy it.' : ''}
      </span>
    </span>
  );
}

// A table that scrolls sideways on narrow screens (focusable so keyboard
// users can scroll it).
export function TableWrap(props: { label: string; children: JSX.Element }) {
  return (
    <div class="table-wrap" role="region" aria-label={props.label} tabindex="0">
      {props.children}
    </div>
  );
}

export function roleBadge(role: string) {
  return <span class={`badge role-${role}`}>{role}</span>;
}

// The sessions of a user (admins: ?user=NAME) or of the caller, with revoke.
export function SessionList(props: { user?: string; label?: string; version?: number }) {
  const [sessions, { refetch }] = createResource(
    () => ({ user: props.user, version: props.version }),
    (src) => api.get<{ items: Session[] }>(`/api/v1/auth/sessions${qs({ user: src.user })}`).then((r) => r.items),
  );
  const [confirm, setConfirm] = createSignal<ConfirmRequest | null>(null);
  function revoke(s: Session) {
    setConfirm({
      title: 'End this session?',
      body: <p>The browser at {s.remote || 'an unknown address'} ({agentLabel(s.user_agent)}) is signed out at its next request.</p>,
      confirmLabel: 'End session',
      danger: true,
      action: async () => {
        await api.del(`/api/v1/auth/sessions/${encodeURIComponent(s.id)}`);
        await refetch();
      },
    });
  }
  return (
    <div class="sessions">
      <Show when={!sessions.error} fallback={<ErrorBox error={sessions.error} onRetry={refetch} />}>
        <Show when={sessions() !== undefined} fallback={<Spinner label="Loading sessions…" />}>
          <Show when={sessions()!.length > 0} fallback={<Empty title="No open sessions" />}>
            <TableWrap label={props.label || 'Sessions'}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Browser</th>
                    <th scope="col">Address</th>
                    <th scope="col">Signed in</th>
                    <th scope="col">Last seen</th>
                    <th scope="col" class="hide-narrow">Expires</th>
                    <th scope="col"><span class="sr-only">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  <For each={sessions()}>
                    {(s) => (
                      <tr classList={{ current: s.current }} data-session={s.id}>
                        <td>
                          <span title={s.user_agent}>{agentLabel(s.user_agent)}</span>
                          <Show when={s.method === 'sso'}> <span class="badge">SSO</span></Show>
                          <Show when={s.current}> <span class="badge ok">This session</span></Show>
                        </td>
                        <td class="mono">{s.remote || '—'}</td>
                        <td title={formatTime(s.created_at)}>{relativeTime(s.created_at)}</td>
                        <td title={formatTime(s.last_seen_at)}>{relativeTime(s.last_seen_at)}</td>
                        <td class="hide-narrow">{formatTime(s.expires_at)}</td>
                        <td class="actions">
                          <Show when={!s.current} fallback={<span class="muted small">Sign out to end</span>}>
                            <button type="button" class="danger small" onClick={() => revoke(s)}
                                    aria-label={`End session from ${s.remote || 'unknown address'} started ${formatTime(s.created_at)}`}>End</button>
                          </Show>
                        </td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </TableWrap>
          </Show>
        </Show>
      </Show>
      <ConfirmDialog request={confirm()} onClose={() => setConfirm(null)} />
    </div>
  );
}

// A secret the server shows once (an API key, a generated password): the text,
// a copy button, and Done.
export function SecretOnce(props: { title: JSX.Element; children: JSX.Element; secret?: string; testid: string; onDone: () => void }) {
  return (
    <div class="card stack created" role="status">
      <strong>{props.title}</strong>
      {props.children}
      <Show when={props.secret}>
        <div class="secret-row">
          <code class="secret" data-testid={props.testid}>{props.secret}</code>
          <CopyButton text={props.secret || ''} />
        </div>
      </Show>
      <div><button type="button" onClick={() => props.onDone()}>Done</button></div>
    </div>
  );
}
