// API keys (admin): the list (revoked ones too) with role, cameras, expiry
// and last use; creating one shows its secret once with a copy button;
// revoking asks first.
import { createMemo, createResource, createSignal, For, Show } from 'solid-js';
import { api, ApiError } from '../../lib/api';
import { hasRole } from '../../lib/session';
import type { Role } from '../../lib/types';
import { Empty, ErrorBox, Field, fieldError, formError, PageHeader, Spinner } from '../../components/ui';
import {
  assignableRoles, ConfirmDialog, type ConfirmRequest, GrantPicker, roleBadge, SecretOnce, SelectField, TableWrap,
} from './common';
import { formatTime, type Grant, grantLabel, localInputToIso, relativeTime } from './format';
import type { ApiKey } from './types';

const FIELDS = ['name', 'role', 'cameras', 'expires_at', 'tenant'];

function keyState(k: ApiKey, now = Date.now()): { label: string; cls: string } {
  if (k.revoked_at) return { label: 'Revoked', cls: 'bad' };
  if (k.expires_at && new Date(k.expires_at).getTime() <= now) return { label: 'Expired', cls: 'warn' };
  return { label: 'Active', cls: 'ok' };
}

function CreateKey(props: { onCreated: (k: ApiKey) => void; onCancel: () => void }) {
  const [name, setName] = createSignal('');
  const [role, setRole] = createSignal<Role>('viewer');
  const [grant, setGrant] = createSignal<Grant>('*');
  const [expires, setExpires] = createSignal('');
  const [tenant, setTenant] = createSignal('');
  const [err, setErr] = createSignal<unknown>(null);
  const [busy, setBusy] = createSignal(false);
  async function submit(e: Event) {
    e.preventDefault();
    setErr(null);
    const exp = localInputToIso(expires());
    if (exp === undefined) {
      setErr(new ApiError(400, 'invalid', 'expires_at: not a date and time'));
      return;
    }
    setBusy(true);
    try {
      const body: Record<string, unknown> = { name: name().trim(), role: role(), cameras: grant(), expires_at: exp };
      if (tenant().trim()) body.tenant = tenant().trim();
      props.onCreated(await api.post<ApiKey>('/api/v1/api-keys', body));
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form class="card stack create-form" onSubmit={submit} aria-labelledby="new-key-title" novalidate>
      <h2 id="new-key-title">New API key</h2>
      <div class="form-grid">
        <Field label="Name" name="name" required autofocus value={name()} hint="What uses it, e.g. “backup script”."
               onInput={(e) => setName(e.currentTarget.value)} error={fieldError(err(), 'name')} />
        <SelectField label="Role" name="role" value={role()} onChange={(v) => setRole(v as Role)} error={fieldError(err(), 'role')}
                     options={assignableRoles().map((r) => ({ value: r, label: r }))} />
        <Field label="Expires (optional)" name="expires_at" type="datetime-local" value={expires()}
               hint="Empty: never. Your local time." onInput={(e) => setExpires(e.currentTarget.value)}
               error={fieldError(err(), 'expires_at')} />
        <Show when={hasRole('superadmin')}>
          <Field label="Tenant (optional)" name="tenant" value={tenant()} hint="Empty: your own tenant."
                 onInput={(e) => setTenant(e.currentTarget.value)} error={fieldError(err(), 'tenant')} />
        </Show>
      </div>
      <GrantPicker value={grant()} onChange={setGrant} error={fieldError(err(), 'cameras')} />
      <Show when={formError(err(), FIELDS)}>
        <p class="form-error" role="alert">{formError(err(), FIELDS)}</p>
      </Show>
      <div class="row">
        <button type="submit" class="primary" disabled={busy()}>{busy() ? 'Creating…' : 'Create key'}</button>
        <button type="button" onClick={props.onCancel}>Cancel</button>
      </div>
    </form>
  );
}

export default function ApiKeys() {
  const [keys, { refetch, mutate }] = createResource(() => api.get<{ items: ApiKey[] }>('/api/v1/api-keys').then((r) => r.items));
  const [creating, setCreating] = createSignal(false);
  const [created, setCreated] = createSignal<ApiKey | null>(null);
  const [showRevoked, setShowRevoked] = createSignal(false);
  const [confirm, setConfirm] = createSignal<ConfirmRequest | null>(null);
  const shown = createMemo(() => (keys() || []).filter((k) => showRevoked() || !k.revoked_at).slice().reverse());
  const revokedCount = () => (keys() || []).filter((k) => k.revoked_at).length;

  function revoke(k: ApiKey) {
    setConfirm({
      title: `Revoke the key “${k.name}”?`,
      body: <p>Every request with this key fails from now on. This cannot be undone; make a new key if it is needed again.</p>,
      confirmLabel: 'Revoke key',
      danger: true,
      action: async () => {
        await api.del(`/api/v1/api-keys/${encodeURIComponent(k.id)}`);
        try {
          const fresh = await api.get<ApiKey>(`/api/v1/api-keys/${encodeURIComponent(k.id)}`);
          mutate((keys() || []).map((x) => (x.id === k.id ? fresh : x)));
        } catch {
          await refetch();
        }
      },
    });
  }

  return (
    <div class="admin-page">
      <PageHeader title="API keys">
        <button type="button" class="primary" onClick={() => { setCreating(true); setCreated(null); }} disabled={creating()}>New API key</button>
      </PageHeader>
      <p class="muted intro">Keys let scripts and other systems use the API: send one as <code>Authorization: Bearer &lt;key&gt;</code>.</p>
      <Show when={created()}>
        {(k) => (
          <SecretOnce title={<>Key “{k().name}” created.</>} secret={k().key} testid="api-key-secret"
                      onDone={() => setCreated(null)}>
            <p>Copy the key now: it is shown only this once and cannot be read again.</p>
          </SecretOnce>
        )}
      </Show>
      <Show when={creating()}>
        <CreateKey onCancel={() => setCreating(false)} onCreated={(k) => {
          setCreating(false);
          setCreated(k);
          const { key: _secret, ...rest } = k;
          mutate([...(keys() || []), rest as ApiKey]);
        }} />
      </Show>
      <Show when={!keys.error} fallback={<ErrorBox error={keys.error} onRetry={refetch} />}>
        <Show when={keys() !== undefined} fallback={<Spinner label="Loading API keys…" />}>
          <div class="toolbar">
            <label class="check">
              <input type="checkbox" checked={showRevoked()} onChange={(e) => setShowRevoked(e.currentTarget.checked)} />
              <span>Show revoked keys ({revokedCount()})</span>
            </label>
          </div>
          <Show when={shown().length > 0} fallback={<Empty title="No API keys">Make one for each script or system that uses the API.</Empty>}>
            <TableWrap label="API keys">
              <table class="list">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Role</th>
                    <th scope="col">Cameras</th>
                    <th scope="col">State</th>
                    <th scope="col">Expires</th>
                    <th scope="col">Last used</th>
                    <th scope="col" class="hide-narrow">Owner</th>
                    <th scope="col" class="hide-narrow">Created</th>
                    <th scope="col"><span class="sr-only">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  <For each={shown()}>
                    {(k) => (
                      <tr classList={{ dim: !!k.revoked_at }} data-key={k.id}>
                        <td>{k.name}<div class="muted small mono">{k.id}</div></td>
                        <td>{roleBadge(k.role)}</td>
                        <td>{grantLabel(k.cameras)}</td>
                        <td><span class={`badge ${keyState(k).cls}`}>{keyState(k).label}</span></td>
                        <td title={formatTime(k.expires_at)}>{k.expires_at ? relativeTime(k.expires_at) : 'Never'}</td>
                        <td title={formatTime(k.last_used_at)}>{k.last_used_at ? relativeTime(k.last_used_at) : 'Never'}</td>
                        <td class="hide-narrow">{k.owner || 'command line'}</td>
                        <td class="hide-narrow">{formatTime(k.created_at)}</td>
                        <td class="actions">
                          <Show when={!k.revoked_at} fallback={<span class="muted small">{formatTime(k.revoked_at)}</span>}>
                            <button type="button" class="danger small" onClick={() => revoke(k)} aria-label={`Revoke ${k.name}`}>Revoke</button>
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
