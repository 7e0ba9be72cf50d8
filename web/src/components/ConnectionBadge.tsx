/** The socket's state, always visible in the header. */
import type { ConnectionState } from '../graphql/connection';

const LABELS: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

export function ConnectionBadge(props: { state: ConnectionState }) {
  return (
    <span
      class={`badge ${props.state}`}
      role="status"
      aria-label={`Connection: ${LABELS[props.state]}`}
      data-state={props.state}
    >
      {LABELS[props.state]}
    </span>
  );
}
