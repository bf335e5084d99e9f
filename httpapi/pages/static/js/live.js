// The public WebSocket protocol (CONTRACT §3, JSON subprotocol), as any client speaks it:
// authenticate, subscribe, resume with sinceSeq after a drop, reconnect with back-off and
// jitter, and keep the offset of the server's clock (from pong.serverTime) so countdowns run
// on the clock that decides.
import { accessToken, refresh, session } from './api.js';

const PROTOCOL = 'bidserver.v1.json';
const PING_EVERY_MS = 15_000;
const REPLY_TIMEOUT_MS = 10_000;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];

export class Live {
  constructor({ onEvent = () => {}, onStatus = () => {}, onSnapshot = () => {}, onNotice = () => {} } = {}) {
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.onSnapshot = onSnapshot;
    this.onNotice = onNotice;
    this.watched = new Map(); // auctionId -> last seq seen
    this.pending = new Map(); // ref -> {resolve, reject, timer}
    this.nextRef = 1;
    this.attempt = 0;
    this.offsetMs = 0;
    this.bestRtt = Infinity;
    this.authed = false;
    this.ws = null;
    this.wasOpen = false;
    window.addEventListener('bidserver:session', () => this.reauth());
  }

  get url() {
    const port = document.body.dataset.wsPort;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    return `${scheme}://${location.hostname}:${port}/ws`;
  }

  now() {
    return Date.now() + this.offsetMs;
  }

  get connected() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  watch(auctionId, seq) {
    if (!this.watched.has(auctionId)) this.watched.set(auctionId, seq ?? null);
    if (this.connected) this.subscribe(auctionId);
  }

  start() {
    this.connect();
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && !this.ws) this.connect();
    });
  }

  connect() {
    clearTimeout(this.retryTimer);
    let ws;
    try {
      ws = new WebSocket(this.url, PROTOCOL);
    } catch {
      this.down();
      return;
    }
    this.ws = ws;
    ws.onopen = () => this.opened();
    ws.onmessage = (event) => this.received(event.data);
    ws.onclose = () => {
      if (this.ws === ws) this.down();
    };
  }

  async opened() {
    this.attempt = 0;
    this.wasOpen = true;
    this.onStatus('open');
    this.ping();
    clearInterval(this.pinger);
    this.pinger = setInterval(() => this.ping(), PING_EVERY_MS);
    await this.reauth();
    for (const id of this.watched.keys()) this.subscribe(id);
  }

  down() {
    this.ws = null;
    this.authed = false;
    clearInterval(this.pinger);
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(Object.assign(new Error('connection lost'), { code: 'unavailable' }));
    }
    this.pending.clear();
    this.onStatus(this.wasOpen || this.attempt > 0 ? 'down' : 'connecting');
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), base * (0.75 + Math.random() / 2));
  }

  async reauth() {
    if (!this.connected) return;
    const token = session() ? await accessToken() : null;
    if (!token) {
      this.authed = false;
      return;
    }
    try {
      await this.ask({ type: 'auth', token });
      this.authed = true;
    } catch (error) {
      this.authed = false;
      if (error.code === 'unauthenticated' && (await refresh())) await this.reauth();
    }
  }

  async subscribe(auctionId) {
    const since = this.watched.get(auctionId);
    const message = { type: 'subscribe', auctionId };
    if (since !== null && since !== undefined) message.sinceSeq = since;
    try {
      const reply = await this.ask(message);
      if (!reply.recovered) {
        this.watched.set(auctionId, reply.snapshot.seq);
        this.onSnapshot(reply.snapshot, { recovered: false });
      } else {
        this.onSnapshot(reply.snapshot, { recovered: true });
      }
    } catch (error) {
      if (error.code === 'not_found') this.watched.delete(auctionId);
    }
  }

  ping() {
    const sent = Date.now();
    this.ask({ type: 'ping' }).then((pong) => {
      const received = Date.now();
      const rtt = received - sent;
      // The sample with the shortest round trip tells the offset best.
      if (rtt <= this.bestRtt * 1.5 || rtt < 200) {
        this.bestRtt = Math.min(this.bestRtt, rtt);
        this.offsetMs = Date.parse(pong.serverTime) - (sent + received) / 2;
      }
    }, () => {});
  }

  ask(message) {
    return new Promise((resolve, reject) => {
      if (!this.connected) {
        reject(Object.assign(new Error('not connected'), { code: 'unavailable' }));
        return;
      }
      const ref = `r${this.nextRef++}`;
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(Object.assign(new Error('no answer'), { code: 'unavailable' }));
      }, REPLY_TIMEOUT_MS);
      this.pending.set(ref, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...message, ref }));
    });
  }

  received(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    const waiting = message.ref !== undefined ? this.pending.get(message.ref) : undefined;
    if (waiting) {
      this.pending.delete(message.ref);
      clearTimeout(waiting.timer);
      if (message.type === 'error') waiting.reject(Object.assign(new Error(message.message), message));
      else waiting.resolve(message);
      return;
    }
    if (message.type === 'outbid' || message.type === 'won' || message.type === 'error') {
      if (message.type === 'error' && message.code === 'unauthenticated') this.reauth();
      this.onNotice(message);
      return;
    }
    if (typeof message.seq === 'number' && this.watched.has(message.auctionId)) {
      const last = this.watched.get(message.auctionId);
      if (last !== null && message.seq <= last) return; // seen already (resume overlap)
      if (last !== null && message.seq > last + 1) {
        this.subscribe(message.auctionId); // a gap: resume from what we have
        return;
      }
      this.watched.set(message.auctionId, message.seq);
      this.onEvent(message);
    }
  }
}

// Show `element` only while the connection is down (CONTRACT §5 `connection-status`).
export function statusShower(element) {
  return (state) => {
    if (!element) return;
    element.hidden = state !== 'down';
    element.textContent = 'Reconnecting…';
  };
}
