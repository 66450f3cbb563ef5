/**
 * A long-running part of the daemon (VRRP, virtual servers, metrics). The
 * daemon starts services in order and closes them in reverse.
 */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  /** Stops and releases everything the service holds; safe to call once after start. */
  close(): Promise<void>;
}
