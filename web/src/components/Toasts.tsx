/** Fill and error notices, announced to screen readers as they appear. */
import { For } from 'solid-js';
import type { Toast } from '../stores/toasts';

export function Toasts(props: { toasts: Toast[]; onDismiss: (id: number) => void }) {
  return (
    <div class="toasts" role="status" aria-live="polite">
      <For each={props.toasts}>
        {(t) => (
          <div class={`toast ${t.kind}`} data-kind={t.kind}>
            <p>{t.text}</p>
            <button
              type="button"
              class="link"
              aria-label="Dismiss"
              onClick={() => props.onDismiss(t.id)}
            >
              ×
            </button>
          </div>
        )}
      </For>
    </div>
  );
}
