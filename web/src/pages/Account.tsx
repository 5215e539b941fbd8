// Account (every signed-in user): who I am, changing my password, my
// two-factor authentication (enrol with an authenticator app, recovery codes,
// turn off), and my sessions with revoke. ForcedMfaEnrolment is what a user
// whose role must use a second factor sees until enrolled.
import { createResource, createSignal, For, Match, Show, Switch } from 'solid-js';
import { api, ApiError, errorText, request } from '../lib/api';
import { loadMe, me, signOut } from '../lib/session';
import { navigate } from '../lib/router';
import { ErrorBox, Field, PageHeader, Spinner } from '../components/ui';
import { ChangePasswordForm } from './Login';
import { CopyButton, roleBadge, SessionList } from './admin/common';
import { grantLabel, groupSecret } from './admin/format';
import type { MfaEnrolment, MfaState } from './admin/types';

function codeError(x: unknown): string {
  if (x instanceof ApiError && (x.status === 403 || x.code === 'mfa_invalid')) return 'That code is wrong or was already used. Enter the current code.';
  if (x instanceof ApiError && x.status === 400) return x.field ? x.message.slice(x.field.length + 2) : x.message;
  return errorText(x);
}

function RecoveryCodes(props: { codes: string[]; onDone: () => void; doneLabel?: string }) {
  return (
    <div class="card stack created" role="status" aria-labelledby="codes-title">
      <strong id="codes-title">Your recovery codes</strong>
      <p>Each works once in place of an authenticator code, for when the phone is lost. They are shown only now: store them somewhere safe (a password manager, or printed).</p>
      <ol class="codes mono" data-testid="recovery-codes"><For each={props.codes}>{(c) => <li>{c}</li>}</For></ol>
      <div class="row">
        <CopyButton text={props.codes.join('\n')} label="Copy codes" />
        <button type="button" class="primary" onClick={props.onDone}>{props.doneLabel || 'I have saved them'}</button>
      </div>
    </div>
  );
}

// A form asking for the current authenticator code (or a recovery code).
function CodeForm(props: { label: string; submitLabel: string; danger?: boolean; onSubmit: (code: string) => Promise<void>; onCancel: () => void }) {
  const [code, setCode] = createSignal('');
  const [err, setErr] = createSignal<unknown>(null);
  const [busy, setBusy] = createSignal(false);
  async function submit(e: Event) {
    e.preventDefault();
    setErr(null);
    setBusy(true);
    try {
      await props.onSubmit(code().replace(/\s+/g, ''));
      setCode('');
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form class="stack narrow" onSubmit={submit}>
      <Field label={props.label} name="totp" autocomplete="one-time-code" required value={code()}
             hint="The 6-digit code of your authenticator app, or a recovery code."
             onInput={(e) => setCode(e.currentTarget.value)} error={err() ? codeError(err()) : null} />
      <div class="row">
        <button type="submit" class={props.danger ? 'danger' : 'primary'} disabled={busy() || !code().trim()}>{props.submitLabel}</button>
        <button type="button" onClick={props.onCancel}>Cancel</button>
      </div>
    </form>
  );
}

// Whether the policy obliges the caller's role to have a second factor.
function mustKeep(s: MfaState): boolean {
  return s.policy === 'required' || (s.policy === 'required_for_admins' && ['admin', 'superadmin'].includes(me()?.role || ''));
}

export function MfaSection(props: { forced?: boolean; onEnrolled?: () => void }) {
  const [state, { refetch, mutate }] = createResource(async () => {
    try {
      return await api.get<MfaState>('/api/v1/auth/mfa');
    } catch (x) {
      if (x instanceof ApiError && x.status === 400) return 'unsupported' as const; // SSO session, API key
      throw x;
    }
  });
  const [enrolment, setEnrolment] = createSignal<MfaEnrolment | null>(null);
  const [codes, setCodes] = createSignal<string[] | null>(null);
  const [mode, setMode] = createSignal<'idle' | 'regenerate' | 'disable'>('idle');
  const [err, setErr] = createSignal<unknown>(null);
  const [notice, setNotice] = createSignal('');
  const [busy, setBusy] = createSignal(false);

  async function begin() {
    setErr(null);
    setNotice('');
    setBusy(true);
    try {
      setEnrolment(await api.post<MfaEnrolment>('/api/v1/auth/mfa/enroll', {}));
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  }
  async function confirm(code: string) {
    const r = await api.post<{ recovery_codes: string[] }>('/api/v1/auth/mfa/confirm', { totp: code });
    setEnrolment(null);
    setCodes(r.recovery_codes);
    const s = state();
    if (s && s !== 'unsupported') mutate({ ...s, enrolled: true, pending: false, enrollment_required: false, recovery_codes_left: r.recovery_codes.length });
  }
  async function cancelPending() {
    setErr(null);
    try {
      await api.del('/api/v1/auth/mfa');
    } catch (x) {
      if (!(x instanceof ApiError && x.status === 404)) setErr(x);
    }
    setEnrolment(null);
    await refetch();
  }
  async function regenerate(code: string) {
    const r = await api.post<{ recovery_codes: string[] }>('/api/v1/auth/mfa/recovery-codes', { totp: code });
    setMode('idle');
    setCodes(r.recovery_codes);
    await refetch();
  }
  async function disable(code: string) {
    await request('DELETE', '/api/v1/auth/mfa', { totp: code });
    setMode('idle');
    setNotice('Two-factor authentication is off.');
    await refetch();
    await loadMe();
  }
  function codesDone() {
    setCodes(null);
    setNotice('Two-factor authentication is on.');
    if (props.onEnrolled) props.onEnrolled();
  }

  return (
    <section class="card stack" aria-labelledby="mfa-title" data-testid="mfa">
      <h2 id="mfa-title">{props.forced ? 'Authenticator app' : 'Two-factor authentication'}</h2>
      <Show when={!state.error} fallback={<ErrorBox error={state.error} onRetry={refetch} />}>
        <Show when={state()} fallback={<Spinner />}>
          {(s) => (
            <Switch>
              <Match when={s() === 'unsupported'}>
                <p class="muted">This sign-in has no second factor here: your identity provider asks for it.</p>
              </Match>
              <Match when={codes()}>
                <RecoveryCodes codes={codes()!} onDone={codesDone} doneLabel={props.forced ? 'I have saved them, continue' : undefined} />
              </Match>
              <Match when={(s() as MfaState).policy === 'off'}>
                <p class="muted">Two-factor authentication is turned off on this server.</p>
              </Match>
              <Match when={enrolment()}>
                {(en) => (
                  <div class="stack enrol">
                    <ol class="steps">
                      <li>
                        <p>Add Horus to your authenticator app (Google Authenticator, Aegis, 1Password, …):
                          {' '}<a href={en().otpauth_uri}>open it in the app</a> on this device, or enter this key by hand:</p>
                        <p class="secret-row">
                          <code class="secret big" data-testid="mfa-secret" aria-label="Secret key">{groupSecret(en().secret)}</code>
                          <CopyButton text={en().secret} label="Copy key" />
                        </p>
                        <p class="muted small">Account {en().account}, issuer {en().issuer}; time-based, {en().algorithm}, {en().digits} digits, every {en().period} seconds.</p>
                      </li>
                      <li>
                        <p>Enter the code the app shows to confirm.</p>
                        <CodeForm label="Code from the app" submitLabel="Confirm" onSubmit={confirm} onCancel={() => void cancelPending()} />
                      </li>
                    </ol>
                  </div>
                )}
              </Match>
              <Match when={(s() as MfaState).enrolled}>
                <p><span class="badge ok">On</span> Sign-ins ask for a code from your authenticator app.
                  {' '}{(s() as MfaState).recovery_codes_left} recovery codes left.</p>
                <Show when={notice()}><p class="notice" role="status">{notice()}</p></Show>
                <Switch>
                  <Match when={mode() === 'regenerate'}>
                    <CodeForm label="Current code" submitLabel="Make new recovery codes" onSubmit={regenerate} onCancel={() => setMode('idle')} />
                  </Match>
                  <Match when={mode() === 'disable'}>
                    <p>Turning it off makes your password the only thing that protects this account.</p>
                    <Show when={mustKeep(s() as MfaState)}>
                      <p class="notice">Your role must use a second factor here: you will have to set it up again before you can use Horus.</p>
                    </Show>
                    <CodeForm label="Current code" submitLabel="Turn off" danger onSubmit={disable} onCancel={() => setMode('idle')} />
                  </Match>
                  <Match when={mode() === 'idle'}>
                    <div class="row">
                      <button type="button" onClick={() => { setNotice(''); setMode('regenerate'); }}>New recovery codes</button>
                      <button type="button" class="danger" onClick={() => { setNotice(''); setMode('disable'); }}>Turn off</button>
                    </div>
                  </Match>
                </Switch>
              </Match>
              <Match when={true}>
                <p><span class="badge warn">Off</span> Protect this account with a code from an authenticator app on your phone, asked at every sign-in.</p>
                <Show when={(s() as MfaState).enrollment_required}>
                  <p class="notice" role="status">Your role must use two-factor authentication: set it up to continue.</p>
                </Show>
                <Show when={notice()}><p class="notice" role="status">{notice()}</p></Show>
                <Show when={err()}><p class="form-error" role="alert">{errorText(err())}</p></Show>
                <div class="row">
                  <button type="button" class="primary" onClick={begin} disabled={busy()}>{busy() ? 'Starting…' : 'Set up two-factor authentication'}</button>
                  <Show when={(s() as MfaState).pending}><button type="button" onClick={() => void cancelPending()}>Cancel the unfinished set-up</button></Show>
                </div>
              </Match>
            </Switch>
          )}
        </Show>
      </Show>
    </section>
  );
}

// Shown instead of the app while the server obliges the user to enrol.
export function ForcedMfaEnrolment() {
  return (
    <main class="login-page">
      <div class="forced-mfa stack">
        <h1>Set up two-factor authentication</h1>
        <p>{me()?.name}, your role must sign in with a second factor. Set it up now to continue.</p>
        <MfaSection forced onEnrolled={() => void loadMe()} />
        <button type="button" class="link" onClick={async () => { await signOut(); navigate('/login', { replace: true }); }}>Sign out instead</button>
      </div>
    </main>
  );
}

export default function Account() {
  const [pwNotice, setPwNotice] = createSignal('');
  const [pwChanges, setPwChanges] = createSignal(0);
  return (
    <div class="admin-page account">
      <PageHeader title="Account" />
      <div class="account-grid">
        <div class="stack">
          <section class="card stack" aria-labelledby="me-title">
            <h2 id="me-title">{me()?.name}</h2>
            <dl class="facts">
              <dt>Role</dt><dd>{roleBadge(me()?.role || 'viewer')}</dd>
              <dt>Cameras</dt><dd>{grantLabel(me()?.cameras)}</dd>
              <Show when={me()?.tenant}><dt>Tenant</dt><dd>{me()?.tenant}</dd></Show>
            </dl>
          </section>
          <section class="card stack" aria-labelledby="pw-title">
            <h2 id="pw-title">Change password</h2>
            <Show when={pwNotice()}><p class="notice" role="status">{pwNotice()}</p></Show>
            <ChangePasswordForm onDone={async () => {
              setPwNotice('Password changed. Your other sessions were signed out.');
              await loadMe();
              setPwChanges(pwChanges() + 1);
            }} />
          </section>
        </div>
        <MfaSection />
      </div>
      <section class="card stack sessions-card" aria-labelledby="sessions-title">
        <h2 id="sessions-title">Where you are signed in</h2>
        <SessionList label="Your sessions" version={pwChanges()} />
      </section>
    </div>
  );
}
