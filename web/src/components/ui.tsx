// Small building blocks every page uses: loading, error and empty states,
// form fields that show the server's field-named errors, confirmation.
import { JSX, Show, splitProps } from 'solid-js';
import { ApiError, errorText } from '../lib/api';

export function Spinner(props: { label?: string }) {
  return (
    <div class="spinner" role="status" aria-live="polite">
      <span class="spinner-dot" aria-hidden="true" />
      {props.label || 'Loading…'}
    </div>
  );
}

export function ErrorBox(props: { error: unknown; onRetry?: () => void }) {
  return (
    <div class="error-box" role="alert">
      <strong>{props.error instanceof ApiError && props.error.status === 0 ? 'Server unreachable' : 'Something went wrong'}</strong>
      <p>{errorText(props.error)}</p>
      <Show when={props.onRetry}>
        <button type="button" onClick={() => props.onRetry!()}>Try again</button>
      </Show>
    </div>
  );
}

export function Empty(props: { title: string; children?: JSX.Element }) {
  return (
    <div class="empty">
      <strong>{props.title}</strong>
      <Show when={props.children}>
        <div>{props.children}</div>
      </Show>
    </div>
  );
}

// The error of a form submission shown next to its field when the server
// named one, else above the form.
export function fieldError(err: unknown, field: string): string | null {
  return err instanceof ApiError && err.field === field ? err.message.slice(field.length + 2) : null;
}
export function formError(err: unknown, fields: string[]): string | null {
  if (!err) return null;
  if (err instanceof ApiError && err.field && fields.includes(err.field)) return null;
  return errorText(err);
}

type InputProps = JSX.InputHTMLAttributes<HTMLInputElement> & { label: string; error?: string | null; hint?: string };

export function Field(props: InputProps) {
  const [local, rest] = splitProps(props, ['label', 'error', 'hint', 'id']);
  const id = local.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  return (
    <div class="field" classList={{ invalid: !!local.error }}>
      <label for={id}>{local.label}</label>
      <input id={id} aria-invalid={local.error ? 'true' : undefined}
             aria-describedby={local.error ? `${id}-err` : local.hint ? `${id}-hint` : undefined} {...rest} />
      <Show when={local.error}>
        <span class="field-error" id={`${id}-err`} role="alert">{local.error}</span>
      </Show>
      <Show when={!local.error && local.hint}>
        <span class="field-hint" id={`${id}-hint`}>{local.hint}</span>
      </Show>
    </div>
  );
}

export function PageHeader(props: { title: string; children?: JSX.Element }) {
  return (
    <header class="page-header">
      <h1>{props.title}</h1>
      <div class="page-actions">{props.children}</div>
    </header>
  );
}
