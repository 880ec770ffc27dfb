/**
 * The renderer's one client of the contract: Electron's window.puma when present, the local
 * HTTP server (browser mode) otherwise. Pages never talk to a transport directly.
 */
import type { EventMessage, EventName, Events, OperationName, PumaBridge, RequestOf, ResponseOf } from '../../../src-shared/api/contract';

type Listener = (m: EventMessage) => void;

class PumaClient {
  private listeners = new Set<Listener>();
  private bridge: PumaBridge | undefined = (globalThis as { puma?: PumaBridge }).puma;
  private source: EventSource | null = null;

  constructor() {
    if (this.bridge) this.bridge.onEvent((m) => this.dispatch(m));
    else this.connectEvents();
  }

  private connectEvents(): void {
    this.source = new EventSource('./api/events');
    this.source.onmessage = (e) => this.dispatch(JSON.parse(e.data) as EventMessage);
  }

  private dispatch(m: EventMessage): void {
    for (const l of this.listeners) l(m);
  }

  async call<K extends OperationName>(op: K, request: RequestOf<K>): Promise<ResponseOf<K>> {
    if (this.bridge) {
      try {
        return (await this.bridge.invoke(op, request)) as ResponseOf<K>;
      } catch (e) {
        // Electron wraps a handler's error as "Error invoking remote method '…': Error: <message>":
        // pages show (and place at a field) the message itself, as in browser mode.
        throw new Error(String((e as Error).message ?? e).replace(/^Error invoking remote method '[^']*': (?:\w*Error: )?/, ''), { cause: e });
      }
    }
    const res = await fetch(`./api/${op}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(request),
    });
    const body = (await res.json().catch(() => ({ error: `HTTP ${res.status}` }))) as { result?: unknown; error?: string };
    if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
    return body.result as ResponseOf<K>;
  }

  on<K extends EventName>(name: K, listener: (payload: Events[K]) => void): () => void {
    const l: Listener = (m) => {
      if (m.name === name) listener(m.payload as Events[K]);
    };
    this.listeners.add(l);
    this.publishCount();
    return () => {
      this.listeners.delete(l);
      this.publishCount();
    };
  }

  /** How many event listeners are live now (a page that forgets to release its own makes it grow). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  // Shown as <html data-event-listeners="N"> so a browser test can check that leaving a page
  // releases what it subscribed; a harmless attribute in the app.
  private publishCount(): void {
    if (typeof document !== 'undefined') document.documentElement.dataset.eventListeners = String(this.listeners.size);
  }
}

export const client = new PumaClient();
