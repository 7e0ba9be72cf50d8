/** The socket's state, always visible in the header. */
import type { ConnectionState } from '../graphql/connection';

const LABELS: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

/** `renewals`: how often the socket reconnected quietly with a fresh token (for diagnosis). */
export function ConnectionBadge(props: { state: ConnectionState; renewals?: number }) {
  return (
    <span
      class={`badge ${props.state}`}
      role="status"
      aria-label={`Connection: ${LABELS[props.state]}`}
      data-state={props.state}
      data-renewals={props.renewals}
    >
      {LABELS[props.state]}
    </span>
  );
}
