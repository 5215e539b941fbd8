// Users (admin): the list with role, cameras and state; creating a user (a
// generated one-time password is shown once when none is typed); and, for the
// chosen user, role and camera grant, disable/enable, second-factor reset,
// delete, and the user's sessions.
import { createEffect, createMemo, createResource, createSignal, For, on, Show } from 'solid-js';
import { api, ApiError } from '../../lib/api';
import { query, setQuery } from '../../lib/router';
import { hasRole, me } from '../../lib/session';
import type { Role } from '../../lib/types';
import { Empty, ErrorBox, Field, fieldError, formError, PageHeader, Spinner } from '../../components/ui';
import {
  assignableRoles, ConfirmDialog, type ConfirmRequest, GrantPicker, roleBadge, SecretOnce, SelectField,
  SessionList, TableWrap,
} from './common';
import { formatTime, type Grant, grantLabel, relativeTime } from './format';
import type { User } from './types';

const CREATE_FIELDS = ['name', 'role', 'cameras', 'password', 'tenant'];

function MfaBadge(props: { mfa: User['mfa'] }) {
  return (
    <Show when={props.mfa !== undefined && props.mfa !== null} fallback={<span class="muted">—</span>}>
      <span class={`badge ${props.mfa === 'enrolled' ? 'ok' : props.mfa === 'pending' ? 'warn' : ''}`}>
        {props.mfa === 'enrolled' ? 'On' : props.mfa === 'pending' ? 'Set-up begun' : 'Off'}
      </span>
    </Show>
  );
}

function CreateUser(props: { onCreated: (u: User) => void; onCancel: () => void }) {
  const [name, setName] = createSignal('');
  const [role, setRole] = createSignal<Role>('viewer');
  const [password, setPassword] = createSignal('');
  const [tenant, setTenant] = createSignal('');
  const [grant, setGrant] = createSignal<Grant>('*');
  const [err, setErr] = createSignal<unknown>(null);
  const [busy, setBusy] = createSignal(false);
  async function submit(e: Event) {
    e.preventDefault();
    setErr(null);
    setBusy(true);
    try {
      const body: Record<string, unknown> = { name: name().trim(), role: role(), cameras: grant() };
      if (password()) body.password = password();
      if (tenant().trim()) body.tenant = tenant().trim();
      const u = await api.post<User>('/api/v1/users', body);
      props.onCreated(u);
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  }
  const nameErr = () => fieldError(err(), 'name') || (err() instanceof ApiError && (err() as ApiError).status === 409 ? 'A user of this name exists.' : null);
  return (
    <form class="card stack create-form" onSubmit={submit} aria-labelledby="new-user-title" novalidate>
      <h2 id="new-user-title">New user</h2>
      <div class="form-grid">
        <Field label="User name" name="name" autocomplete="off" required value={name()} autofocus
               hint="Letters, digits and . _ @ - (at most 64)."
               onInput={(e) => setName(e.currentTarget.value)} error={nameErr()} />
        <SelectField label="Role" name="role" value={role()} onChange={(v) => setRole(v as Role)} error={fieldError(err(), 'role')}
                     options={assignableRoles().map((r) => ({ value: r, label: r }))} />
        <Field label="Password (optional)" name="password" type="password" autocomplete="new-password" value={password()}
               hint="Leave empty to generate a one-time password the user changes at first sign-in."
               onInput={(e) => setPassword(e.currentTarget.value)} error={fieldError(err(), 'password')} />
        <Show when={hasRole('superadmin')}>
          <Field label="Tenant (optional)" name="tenant" value={tenant()} hint="Empty: your own tenant."
                 onInput={(e) => setTenant(e.currentTarget.value)} error={fieldError(err(), 'tenant')} />
        </Show>
      </div>
      <GrantPicker value={grant()} onChange={setGrant} error={fieldError(err(), 'cameras')} />
      <Show when={formError(err(), CREATE_FIELDS) && !nameErr()}>
        <p class="form-error" role="alert">{formError(err(), CREATE_FIELDS)}</p>
      </Show>
      <div class="row">
        <button type="submit" class="primary" disabled={busy()}>{busy() ? 'Creating…' : 'Create user'}</button>
        <button type="button" onClick={props.onCancel}>Cancel</button>
      </div>
    </form>
  );
}

function UserPanel(props: { user: User; onChanged: (u: User | null) => void; onClose: () => void }) {
  const [role, setRole] = createSignal<Role>(props.user.role);
  const [grant, setGrant] = createSignal<Grant>(props.user.cameras);
  const [err, setErr] = createSignal<unknown>(null);
  const [notice, setNotice] = createSignal('');
  const [busy, setBusy] = createSignal(false);
  const [confirm, setConfirm] = createSignal<ConfirmRequest | null>(null);
  // Another user chosen, or this one changed elsewhere: start from its values.
  createEffect(on(() => props.user, (u) => {
    setRole(u.role);
    setGrant(u.cameras);
    setErr(null);
  }));
  createEffect(on(() => props.user.name, () => setNotice(''), { defer: true }));
  const self = () => me()?.name === props.user.name;
  const url = () => `/api/v1/users/${encodeURIComponent(props.user.name)}`;
  const dirty = () => role() !== props.user.role || JSON.stringify(grant()) !== JSON.stringify(props.user.cameras);
  const roles = () => {
    const r = assignableRoles();
    return r.includes(props.user.role) ? r : [...r, props.user.role];
  };

  async function patch(body: Record<string, unknown>, done: string) {
    setErr(null);
    setNotice('');
    setBusy(true);
    try {
      const u = await api.patch<User>(url(), body);
      props.onChanged(u);
      setNotice(done);
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  }
  function save(e: Event) {
    e.preventDefault();
    void patch({ role: role(), cameras: grant() }, 'Saved.');
  }
  function toggleDisabled() {
    const u = props.user;
    if (u.disabled) {
      void patch({ disabled: false }, `${u.name} can sign in again.`);
      return;
    }
    setConfirm({
      title: `Disable ${u.name}?`,
      body: <p>{u.name} is signed out everywhere and cannot sign in until enabled again. Their API keys keep working; revoke them on the API keys page.</p>,
      confirmLabel: 'Disable',
      danger: true,
      action: async () => {
        const r = await api.patch<User>(url(), { disabled: true });
        props.onChanged(r);
        setNotice(`${u.name} is disabled.`);
      },
    });
  }
  function resetMfa() {
    const u = props.user;
    setConfirm({
      title: `Reset the second factor of ${u.name}?`,
      body: <p>Their authenticator app and recovery codes stop working. If the server requires a second factor, {u.name} enrols again at the next sign-in.</p>,
      confirmLabel: 'Reset second factor',
      danger: true,
      action: async () => {
        try {
          await api.del(`${url()}/mfa`);
          setNotice(`The second factor of ${u.name} is reset.`);
          props.onChanged(await api.get<User>(url()));
        } catch (x) {
          if (x instanceof ApiError && x.status === 404) {
            setNotice(`${u.name} has no second factor enrolled.`);
            return;
          }
          throw x;
        }
      },
    });
  }
  function remove() {
    const u = props.user;
    setConfirm({
      title: `Delete ${u.name}?`,
      body: <p>The user, their sessions and their API keys are removed. This cannot be undone; the audit log keeps what they did.</p>,
      confirmLabel: 'Delete user',
      danger: true,
      action: async () => {
        await api.del(url());
        props.onChanged(null);
      },
    });
  }

  return (
    <section class="card stack user-panel" aria-labelledby="user-panel-title">
      <div class="row between">
        <h2 id="user-panel-title">{props.user.name}</h2>
        <button type="button" class="icon-button" aria-label="Close" onClick={props.onClose}>✕</button>
      </div>
      <dl class="facts">
        <dt>Created</dt><dd>{formatTime(props.user.created_at)}</dd>
        <dt>Updated</dt><dd>{formatTime(props.user.updated_at)}</dd>
        <Show when={props.user.tenant}><dt>Tenant</dt><dd>{props.user.tenant}</dd></Show>
        <dt>State</dt>
        <dd>
          {props.user.disabled ? <span class="badge bad">Disabled</span> : <span class="badge ok">Active</span>}
          <Show when={props.user.must_change_password}> <span class="badge warn">Must change password</span></Show>
        </dd>
        <Show when={props.user.mfa !== undefined}><dt>Second factor</dt><dd><MfaBadge mfa={props.user.mfa} /></dd></Show>
      </dl>
      <form class="stack" onSubmit={save}>
        <SelectField label="Role" value={role()} onChange={(v) => setRole(v as Role)} error={fieldError(err(), 'role')}
                     disabled={self()} hint={self() ? 'You cannot change your own role.' : undefined}
                     options={roles().map((r) => ({ value: r, label: r }))} />
        <GrantPicker value={grant()} onChange={setGrant} error={fieldError(err(), 'cameras')} />
        <Show when={formError(err(), ['role', 'cameras'])}>
          <p class="form-error" role="alert">{formError(err(), ['role', 'cameras'])}</p>
        </Show>
        <Show when={notice()}><p class="notice" role="status">{notice()}</p></Show>
        <div class="row">
          <button type="submit" class="primary" disabled={busy() || !dirty()}>Save changes</button>
        </div>
      </form>
      <div class="row">
        <button type="button" onClick={toggleDisabled} disabled={busy() || self()}>{props.user.disabled ? 'Enable' : 'Disable'}</button>
        <button type="button" onClick={resetMfa} disabled={busy() || props.user.mfa === 'none'}>Reset second factor</button>
        <button type="button" class="danger" onClick={remove} disabled={busy() || self()}>Delete</button>
      </div>
      <h3>Sessions</h3>
      <SessionList user={props.user.name} label={`Sessions of ${props.user.name}`} />
      <ConfirmDialog request={confirm()} onClose={() => setConfirm(null)} />
    </section>
  );
}

export default function Users() {
  const [users, { refetch, mutate }] = createResource(() => api.get<{ items: User[] }>('/api/v1/users').then((r) => r.items));
  const [creating, setCreating] = createSignal(false);
  const [created, setCreated] = createSignal<User | null>(null);
  const [filter, setFilter] = createSignal('');
  const selectedName = () => query().get('user');
  const selected = createMemo(() => (users() || []).find((u) => u.name === selectedName()) || null);
  const shown = createMemo(() => {
    const f = filter().trim().toLowerCase();
    const list = users() || [];
    return f ? list.filter((u) => u.name.toLowerCase().includes(f) || u.role.includes(f) || (u.tenant || '').includes(f)) : list;
  });
  const anyTenant = () => (users() || []).some((u) => u.tenant);
  const hasMfa = () => (users() || []).some((u) => u.mfa !== undefined);

  function replace(u: User | null, name: string) {
    const list = users() || [];
    if (u) mutate(list.map((x) => (x.name === name ? u : x)));
    else {
      mutate(list.filter((x) => x.name !== name));
      setQuery({ user: null });
    }
  }

  return (
    <div class="admin-page">
      <PageHeader title="Users">
        <button type="button" class="primary" onClick={() => { setCreating(true); setCreated(null); }} disabled={creating()}>New user</button>
      </PageHeader>
      <Show when={created()}>
        {(u) => (
          <SecretOnce title={<>User {u().name} created.</>} secret={u().password} testid="one-time-password"
                      onDone={() => setCreated(null)}>
            <Show when={u().password} fallback={<p>They sign in with the password you typed.</p>}>
              <p>Their one-time password is shown only now. Hand it over safely; they choose their own at first sign-in.</p>
            </Show>
          </SecretOnce>
        )}
      </Show>
      <Show when={creating()}>
        <CreateUser onCancel={() => setCreating(false)} onCreated={(u) => {
          setCreating(false);
          setCreated(u);
          const { password: _pw, ...rest } = u;
          mutate([...(users() || []), rest as User].sort((a, b) => a.name.localeCompare(b.name)));
        }} />
      </Show>
      <div class="master-detail" classList={{ open: !!selected() }}>
        <div class="master">
          <Show when={!users.error} fallback={<ErrorBox error={users.error} onRetry={refetch} />}>
            <Show when={users() !== undefined} fallback={<Spinner label="Loading users…" />}>
              <div class="toolbar">
                <div class="field inline">
                  <label for="user-filter">Filter</label>
                  <input id="user-filter" type="search" placeholder="Name, role or tenant" value={filter()}
                         onInput={(e) => setFilter(e.currentTarget.value)} />
                </div>
                <span class="muted small">{shown().length} of {users()!.length} users</span>
              </div>
              <Show when={shown().length > 0} fallback={<Empty title={filter() ? 'No user matches' : 'No users yet'} />}>
                <TableWrap label="Users">
                  <table class="list">
                    <thead>
                      <tr>
                        <th scope="col">Name</th>
                        <th scope="col">Role</th>
                        <th scope="col">Cameras</th>
                        <th scope="col">State</th>
                        <Show when={hasMfa()}><th scope="col">Second factor</th></Show>
                        <Show when={anyTenant()}><th scope="col">Tenant</th></Show>
                        <th scope="col" class="hide-narrow">Updated</th>
                      </tr>
                    </thead>
                    <tbody>
                      <For each={shown()}>
                        {(u) => (
                          <tr classList={{ selected: selectedName() === u.name, dim: u.disabled }} data-user={u.name}>
                            <td>
                              <button type="button" class="link" aria-current={selectedName() === u.name ? 'true' : undefined}
                                      onClick={() => setQuery({ user: u.name })}>{u.name}</button>
                              <Show when={me()?.name === u.name}> <span class="muted small">(you)</span></Show>
                            </td>
                            <td>{roleBadge(u.role)}</td>
                            <td>{grantLabel(u.cameras)}</td>
                            <td>
                              <Show when={u.disabled} fallback={<span class="badge ok">Active</span>}><span class="badge bad">Disabled</span></Show>
                              <Show when={u.must_change_password}> <span class="badge warn">Must change password</span></Show>
                            </td>
                            <Show when={hasMfa()}><td><MfaBadge mfa={u.mfa} /></td></Show>
                            <Show when={anyTenant()}><td>{u.tenant || '—'}</td></Show>
                            <td class="hide-narrow" title={formatTime(u.updated_at)}>{relativeTime(u.updated_at)}</td>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                </TableWrap>
              </Show>
            </Show>
          </Show>
        </div>
        <Show when={selected()}>
          {(u) => <UserPanel user={u()} onClose={() => setQuery({ user: null })} onChanged={(x) => replace(x, u().name)} />}
        </Show>
      </div>
      <Show when={selectedName() && users() && !selected()}>
        <p class="notice" role="status">No user named {selectedName()}.</p>
      </Show>
    </div>
  );
}
