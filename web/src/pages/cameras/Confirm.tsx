// A modal confirmation (native <dialog>: focus stays inside, Escape cancels).
// The action runs while the dialog shows "working"; its error stays in the
// dialog so the user sees why nothing happened.
import { createSignal, JSX, onMount, Show } from 'solid-js';
import { errorText } from '../../lib/api';
import './confirm.css';

export interface ConfirmProps {
  title: string;
  children: JSX.Element;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}

export function Confirm(props: ConfirmProps) {
  let ref!: HTMLDialogElement;
  const [busy, setBusy] = createSignal(false);
  const [err, setErr] = createSignal<unknown>(null);
  const titleId = `dlg-${Math.random().toString(36).slice(2, 9)}`;
  onMount(() => ref.showModal());

  async function confirm() {
    setBusy(true);
    setErr(null);
    try {
      await props.onConfirm();
      ref.close();
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <dialog ref={ref} class="confirm" aria-labelledby={titleId} onClose={() => props.onClose()}>
      <h2 id={titleId}>{props.title}</h2>
      <div class="confirm-body">{props.children}</div>
      <Show when={err()}>
        <p class="form-error" role="alert">{errorText(err())}</p>
      </Show>
      <div class="confirm-actions">
        <button type="button" onClick={() => ref.close()} disabled={busy()}>Cancel</button>
        <button type="button" class={props.danger ? 'danger' : 'primary'} onClick={confirm} disabled={busy()}>
          {busy() ? 'Working…' : props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
