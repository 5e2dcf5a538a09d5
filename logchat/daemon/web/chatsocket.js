// The chat WebSocket (/api/v1/ws): signs in with an auth frame (the token never goes in the URL),
// reconnects with back-off when the connection is lost, and moves to a new connection when the access
// token has been refreshed (the server checks the token at every frame the client sends).

const CLOSE_UNAUTHENTICATED = 4401;
const MAX_DELAY_MS = 30_000;

export class ChatSocket {
  // getToken(): a valid access token; renewToken(): a new one (the last was refused); onFrame(frame): every answer frame; onStatus(state, detail):
  // "connecting" | "online" | "offline" (detail: {reason, retryInMs}).
  constructor({ getToken, renewToken, onFrame, onStatus }) {
    this.getToken = getToken;
    this.renewToken = renewToken;
    this.mustRenew = false;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.current = null;
    this.queue = [];
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.queue = [];
    if (this.current) this.current.ws.close(1000, "signed out");
    this.current = null;
  }

  reconnectNow() {
    clearTimeout(this.timer);
    if (!this.current) this.connect();
  }

  async ask(frame) {
    const token = await this.getToken();
    const connection = this.current;
    if (connection && connection.ready && connection.token !== token) {
      // The token was refreshed: new questions go over a connection signed in with it; the old one
      // stays open until the answers it carries have arrived.
      connection.retiring = true;
      connection.closeWhenIdle();
      this.current = null;
      this.connect();
    }
    if (this.current && this.current.ready) this.current.send(frame);
    else this.queue.push(frame);
  }

  async connect() {
    if (this.stopped) return;
    this.onStatus("connecting");
    let token;
    try {
      token = await (this.mustRenew ? this.renewToken() : this.getToken());
      this.mustRenew = false;
    } catch (error) {
      if (error.status === 401) return; // signed out: the page shows the sign-in form
      this.retry(error.message);
      return;
    }
    if (this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const connection = new Connection(new WebSocket(`${scheme}//${location.host}/api/v1/ws`, ["logchat"]), token);
    this.current = connection;
    connection.ws.addEventListener("open", () => connection.ws.send(JSON.stringify({ type: "auth", token })));
    connection.ws.addEventListener("message", (message) => this.received(connection, message));
    connection.ws.addEventListener("close", (event) => this.closed(connection, event));
  }

  received(connection, message) {
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    if (frame.type === "ready") {
      connection.ready = true;
      this.attempt = 0;
      this.onStatus("online", frame);
      for (const queued of this.queue.splice(0)) connection.send(queued);
      return;
    }
    if (frame.id && ["answer", "error", "command"].includes(frame.type)) connection.done(frame.id);
    this.onFrame(frame);
  }

  closed(connection, event) {
    if (this.stopped) return; // signed out: nobody waits for these answers any more
    // Questions whose answer was still coming are lost with the connection: say so.
    for (const id of connection.inFlight) {
      this.onFrame({ type: "error", id, code: "connection_lost",
                     message: "The connection was lost before the answer arrived. Ask again." });
    }
    connection.inFlight.clear();
    if (connection !== this.current) return;
    this.current = null;
    if (event.code === CLOSE_UNAUTHENTICATED) {
      // The token expired or was revoked: the next connection takes a new one (or signs out).
      this.mustRenew = true;
    }
    this.retry(event.reason || (event.code === 1001 ? "the server is restarting" : "the connection was lost"));
  }

  retry(reason) {
    const delay = Math.min(MAX_DELAY_MS, 1000 * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt += 1;
    this.onStatus("offline", { reason, retryInMs: delay });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}

class Connection {
  constructor(ws, token) {
    this.ws = ws;
    this.token = token;
    this.ready = false;
    this.retiring = false;
    this.inFlight = new Set();
  }

  send(frame) {
    this.inFlight.add(frame.id);
    this.ws.send(JSON.stringify(frame));
  }

  done(id) {
    this.inFlight.delete(id);
    if (this.retiring) this.closeWhenIdle();
  }

  closeWhenIdle() {
    if (this.inFlight.size === 0) this.ws.close(1000, "replaced by a connection with a fresh token");
  }
}
