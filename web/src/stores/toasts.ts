/** Short notices (fills, failures) shown in a live region and dismissed after a while. */
import { createStore, produce } from 'solid-js/store';

export type ToastKind = 'fill' | 'error' | 'info';
export interface Toast {
  id: number;
  kind: ToastKind;
  text: string;
}

export function createToastsStore(lifetimeMs = 6_000) {
  const [toasts, setToasts] = createStore<Toast[]>([]);
  let next = 1;
  const dismiss = (id: number) => setToasts((list) => list.filter((t) => t.id !== id));
  return {
    toasts,
    push(kind: ToastKind, text: string) {
      const id = next++;
      setToasts(produce((list) => void list.push({ id, kind, text })));
      if (lifetimeMs > 0) setTimeout(() => dismiss(id), lifetimeMs);
      return id;
    },
    dismiss,
  };
}

export type ToastsStore = ReturnType<typeof createToastsStore>;
