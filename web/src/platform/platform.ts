/**
 * What the app asks of the platform beyond the browser defaults (platform/web.ts). The
 * browser build passes none of this; the desktop build (platform/tauri.ts) fills it in.
 * Types only: nothing here reaches the bundle.
 */
import type { Order } from '../stores/orders';

/** A trading action from the desktop app's menu, shortcuts or tray. */
export type DesktopAction = 'buy' | 'sell' | 'cancel-all';

/** A demo login, as `/demo.json` lists them. */
export interface DemoLogin {
  email: string;
  password: string;
}

/** The desktop app's connection and the controls only it has. */
export interface Desktop {
  /** The server's origin, e.g. `https://rialto.example.com` or the demo's loopback URL. */
  server: string;
  /** Whether it is the app's own local demo. */
  demo: boolean;
  /** Whether the refresh token is remembered (false when there is no keychain). */
  remembersSignIn(): boolean;
  /** The demo's logins (empty for a real server or when the list cannot be read). */
  demoLogins(): Promise<DemoLogin[]>;
  /** Shows `market`'s last price in the tray. Resolves an error in plain words, or null. */
  setTrayMarket(market: string): Promise<string | null>;
  /** Leaves this server (stops the demo or forgets the server) for the first-run screen. */
  disconnect(): Promise<void>;
}

/** Hooks the stores call into; every one is optional. */
export interface PlatformHooks {
  /** An order of the user's filled more than `previouslyFilled` (after the toast). */
  onFill?(order: Order, previouslyFilled: string): void;
  /** Starts listening for actions; returns how to stop. */
  onAction?(listener: (action: DesktopAction) => void): () => void;
  /** Present in the desktop app only. */
  desktop?: Desktop;
}
