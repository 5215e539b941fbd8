// Sign in: user name and password, then the authenticator code when the
// account has MFA; "Sign in with SSO" when the server has OIDC configured;
// the forced password change of a first login. After signing in the page
// returns to where the user was (?next=), which must be a same-origin path.
import { createResource, createSignal, Show } from 'solid-js';
import { api, ApiError, errorText } from '../lib/api';
import { navigate, query } from '../lib/router';
import { adopt, loadMe, me, signOut } from '../lib/session';
import type { Principal } from '../lib/types';
import { Field, fieldError } from '../components/ui';

interface LoginReply {
  csrf_token: string;
  session_id: string;
  expires_at: string;
  principal: Principal;
}
interface AuthMethods {
  password: boolean;
  sso: { enabled: boolean; label?: string };
}

export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.includes('\\') || next.startsWith('/login')) return '/live';
  return next;
}

export default function Login() {
  const [username, setUsername] = createSignal('');
  const [password, setPassword] = createSignal('');
  const [totp, setTotp] = createSignal('');
  const [step, setStep] = createSignal<'password' | 'totp'>('password');
  const [busy, setBusy] = createSignal(false);
  const [err, setErr] = createSignal<unknown>(null);
  const [methods] = createResource(async () => {
    try {
      return await api.get<AuthMethods>('/api/v1/auth/methods', { quiet401: true });
    } catch {
      return { password: true, sso: { enabled: false } } as AuthMethods;
    }
  });
  const next = () => safeNext(query().get('next'));
  const expired = () => query().get('expired') === '1';

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      const body: Record<string, string> = { username: username(), password: password() };
      if (step() === 'totp') body.totp = totp().replace(/\s+/g, '');
      const r = await api.post<LoginReply>('/api/v1/auth/login', body, { quiet401: true });
      adopt(r.principal, r.csrf_token);
      await loadMe();
      setPassword('');
      setTotp('');
      navigate(next(), { replace: true });
    } catch (x) {
      if (x instanceof ApiError && x.code === 'mfa_required') {
        setStep('totp');
      } else {
        setErr(x);
        if (x instanceof ApiError && x.code === 'mfa_invalid') setTotp('');
      }
    } finally {
      setBusy(false);
    }
  }

  const message = () => {
    const x = err();
    if (!x) return null;
    if (x instanceof ApiError && x.status === 401 && x.code !== 'mfa_invalid') return 'Wrong user name or password.';
    if (x instanceof ApiError && x.code === 'mfa_invalid') return 'That code is wrong or was already used. Enter the current code.';
    if (x instanceof ApiError && x.status === 429) return 'Too many attempts. Wait a moment and try again.';
    return errorText(x);
  };

  return (
    <main class="login-page">
      <form class="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <div class="login-brand"><img src="/icon.svg" alt="" width="40" height="40" /></div>
        <h1 id="login-title">Sign in to Horus</h1>
        <Show when={expired()}>
          <p class="notice" role="status">Your session ended. Sign in again to continue.</p>
        </Show>
        <Show when={step() === 'password'}>
          <Field label="User name" name="username" autocomplete="username" required autofocus
                 value={username()} onInput={(e) => setUsername(e.currentTarget.value)} />
          <Field label="Password" name="password" type="password" autocomplete="current-password" required
                 value={password()} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Show>
        <Show when={step() === 'totp'}>
          <p>Enter the 6-digit code from your authenticator app, or a recovery code.</p>
          <Field label="Authentication code" name="totp" autocomplete="one-time-code" inputmode="numeric" required autofocus
                 value={totp()} onInput={(e) => setTotp(e.currentTarget.value)} />
        </Show>
        <Show when={message()}>
          <p class="form-error" role="alert">{message()}</p>
        </Show>
        <button type="submit" class="primary" disabled={busy()}>{busy() ? 'Signing in…' : step() === 'totp' ? 'Verify' : 'Sign in'}</button>
        <Show when={step() === 'totp'}>
          <button type="button" class="link" onClick={() => { setStep('password'); setErr(null); }}>Back</button>
        </Show>
        <Show when={methods()?.sso.enabled}>
          <div class="divider"><span>or</span></div>
          <a class="button" href={`/api/v1/auth/oidc/login?return_to=${encodeURIComponent(next())}`}>
            Sign in with {methods()?.sso.label || 'SSO'}
          </a>
        </Show>
      </form>
    </main>
  );
}

export function ChangePasswordForm(props: { onDone: () => void; forced?: boolean }) {
  const [current, setCurrent] = createSignal('');
  const [next, setNext] = createSignal('');
  const [again, setAgain] = createSignal('');
  const [err, setErr] = createSignal<unknown>(null);
  const [busy, setBusy] = createSignal(false);
  async function submit(e: Event) {
    e.preventDefault();
    setErr(null);
    if (next() !== again()) {
      setErr(new ApiError(400, 'invalid', 'new: the two new passwords differ'));
      return;
    }
    setBusy(true);
    try {
      await api.post('/api/v1/auth/password', { current: current(), new: next() });
      setCurrent(''); setNext(''); setAgain('');
      props.onDone();
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  }
  const currentErr = () => (err() instanceof ApiError && (err() as ApiError).status === 403 ? 'The current password is wrong.' : fieldError(err(), 'current'));
  const newErr = () => fieldError(err(), 'new') || (err() instanceof ApiError && (err() as ApiError).status === 400 && !(err() as ApiError).field ? errorText(err()) : null);
  return (
    <form class="stack" onSubmit={submit}>
      <Field label="Current password" type="password" autocomplete="current-password" required
             value={current()} onInput={(e) => setCurrent(e.currentTarget.value)} error={currentErr()} />
      <Field label="New password" type="password" autocomplete="new-password" required minLength={10}
             hint="At least 10 characters." value={next()} onInput={(e) => setNext(e.currentTarget.value)} error={newErr()} />
      <Field label="New password again" type="password" autocomplete="new-password" required
             value={again()} onInput={(e) => setAgain(e.currentTarget.value)} />
      <Show when={err() && !currentErr() && !newErr()}>
        <p class="form-error" role="alert">{errorText(err())}</p>
      </Show>
      <button type="submit" class="primary" disabled={busy()}>{busy() ? 'Saving…' : props.forced ? 'Set password and continue' : 'Change password'}</button>
    </form>
  );
}

export function ForcedPasswordChange() {
  return (
    <main class="login-page">
      <section class="card login-card" aria-labelledby="pw-title">
        <h1 id="pw-title">Choose a new password</h1>
        <p>{me()?.name} signs in for the first time with a one-time password. Choose your own to continue.</p>
        <ChangePasswordForm forced onDone={async () => {
          // Changing the password ends the other sessions; this one stays.
          const p = await loadMe();
          if (!p) await signOut();
        }} />
      </section>
    </main>
  );
}
