// One auction, live: price, history and countdown over the WebSocket; bids, max bids and
// buy-now with a client-chosen bidId (retried with the same id when the outcome is unknown);
// the user's own state (leading, outbid, won) and every refusal in words.
import { ApiError, currentUser, request } from './api.js';
import { Live, statusShower } from './live.js';
import { bids, errorWords, KIND_WORDS, localTime, money, parseMoney, remaining, uuid } from './format.js';
import './gallery.js';

const NUDGE_MS = 120_000;
const RETRIES = 3;
const root = document.querySelector('[data-auction]');
const $ = (id) => root.querySelector(`[data-testid="${id}"]`);
const data = root.dataset;
const id = Number(data.auctionId);
const state = {
  status: data.status,
  seq: Number(data.seq),
  endsAt: data.endsAt,
  startsAt: data.startsAt,
  currentPrice: data.currentPrice === '' ? null : Number(data.currentPrice),
  startingPrice: Number(data.startingPrice),
  minimumNextBid: Number(data.minimumNextBid),
  bidCount: Number(data.bidCount),
  leaderAlias: data.leaderAlias || null,
  reserveMet: data.reserveMet === 'true',
  hasReserve: data.hasReserve === 'true',
  buyNowPrice: data.buyNowPrice === '' ? null : Number(data.buyNowPrice),
  winnerAlias: null,
};
const bidInput = $('bid-amount');
const maxInput = $('max-bid-amount');
// Typed before this module ran (the page is usable before its scripts): keep what was typed.
let bidTyped = bidInput.value !== bidInput.defaultValue;

// --- who am I in this auction ------------------------------------------------------------

function aliasKey() {
  const user = currentUser();
  return user ? `bidserver.alias.${user.id}.${id}` : null;
}
function myAlias() {
  const key = aliasKey();
  return key ? localStorage.getItem(key) : null;
}
function rememberAlias(alias) {
  const key = aliasKey();
  if (key && alias) localStorage.setItem(key, alias);
}

// --- showing the state -------------------------------------------------------------------

function show(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

function render() {
  const price = state.currentPrice ?? state.startingPrice;
  $('current-price').textContent = money(price);
  root.querySelector('[data-price-label]').textContent = state.currentPrice === null ? 'Starting price' : 'Current bid';
  $('bid-count').textContent = bids(state.bidCount);
  $('reserve-status').textContent = !state.hasReserve ? 'No reserve' : state.reserveMet ? 'Reserve met' : 'Reserve not met';
  root.querySelector('[data-minimum]').textContent = money(state.minimumNextBid);
  if (!bidTyped) bidInput.value = String(state.minimumNextBid);
  const buyNow = $('buy-now-button');
  if (buyNow) buyNow.hidden = !buyNowAvailable();
  const mine = myAlias();
  const leading = state.status === 'open' && mine !== null && state.leaderAlias === mine;
  $('leading-indicator').hidden = !leading;
  if (leading) $('outbid-notification').hidden = true;
  const ended = state.status === 'closed' || state.status === 'cancelled';
  root.querySelector('[data-bid-forms]').hidden = state.status !== 'open';
  if (ended) show($('auction-result'), resultWords());
  root.querySelector('[data-login-hint]').hidden = Boolean(currentUser());
  tick();
}

function buyNowAvailable() {
  if (state.buyNowPrice === null || state.status !== 'open') return false;
  return state.hasReserve ? !state.reserveMet : state.bidCount === 0;
}

function resultWords() {
  if (state.status === 'cancelled') return 'Cancelled';
  if (state.currentPrice === null) return 'Ended with no bids';
  if (!state.reserveMet) return 'Ended: reserve not met';
  return `Sold for ${money(state.currentPrice)}`;
}

function tick() {
  const clock = $('ends-at');
  const label = root.querySelector('[data-clock-label]');
  const now = live.now();
  clock.dataset.endsAt = state.endsAt;
  if (state.status === 'closed' || state.status === 'cancelled') {
    label.textContent = 'Ended';
    clock.textContent = localTime(state.endsAt);
    root.querySelector('[data-nudge]').hidden = true;
    return;
  }
  if (state.status === 'scheduled' && Date.parse(state.startsAt) > now) {
    label.textContent = 'Starts in';
    clock.textContent = remaining(Date.parse(state.startsAt) - now);
    return;
  }
  if (state.status === 'scheduled') {
    state.status = 'open';
    render();
  }
  const left = Date.parse(state.endsAt) - now;
  label.textContent = 'Ends in';
  clock.textContent = left > 0 ? remaining(left) : 'closing…';
  clock.title = `Ends ${localTime(state.endsAt)}`;
  const soon = left > 0 && left <= NUDGE_MS;
  root.querySelector('.clock').classList.toggle('soon', soon);
  root.querySelector('[data-nudge]').hidden = !soon;
}

function historyItem(record) {
  const item = document.createElement('li');
  item.dataset.seq = String(record.seq);
  const amount = document.createElement('strong');
  amount.textContent = money(record.amount);
  const who = document.createElement('span');
  who.className = 'who';
  const mine = myAlias();
  who.textContent = record.bidderAlias + (mine && record.bidderAlias === mine ? ' (you)' : '');
  if (mine && record.bidderAlias === mine) who.classList.add('you');
  const kind = document.createElement('span');
  kind.className = 'kind';
  kind.textContent = KIND_WORDS[record.kind] ?? record.kind;
  const at = document.createElement('time');
  at.dateTime = record.at;
  at.textContent = localTime(record.at);
  item.append(amount, ' ', who, ' ', kind, ' ', at);
  if (record.userId !== undefined) {
    const user = document.createElement('span');
    user.className = 'kind';
    user.textContent = `user ${record.userId}`;
    item.append(' ', user);
  }
  return item;
}

function prependHistory(record) {
  const list = $('bid-history');
  if (list.querySelector(`li[data-seq="${record.seq}"]`)) return;
  list.prepend(historyItem(record));
  root.querySelector('[data-history-empty]').hidden = true;
}

async function reloadHistory() {
  try {
    const page = await request(`/auctions/${id}/bids?limit=50`, { auth: Boolean(currentUser()) });
    const list = $('bid-history');
    list.replaceChildren(...page.items.map(historyItem));
    root.querySelector('[data-history-empty]').hidden = page.items.length > 0;
  } catch {
    /* the live events keep coming; the next reconnect tries again */
  }
}

// --- live --------------------------------------------------------------------------------

function applySnapshot(snapshot) {
  Object.assign(state, {
    status: snapshot.status,
    seq: snapshot.seq,
    endsAt: snapshot.endsAt,
    startsAt: snapshot.startsAt,
    currentPrice: snapshot.currentPrice,
    minimumNextBid: snapshot.minimumNextBid,
    bidCount: snapshot.bidCount,
    leaderAlias: snapshot.leaderAlias,
    reserveMet: snapshot.reserveMet,
  });
}

function onEvent(event) {
  state.seq = event.seq;
  if (event.type === 'bid') {
    const mine = myAlias();
    const wasLeading = mine !== null && state.leaderAlias === mine;
    Object.assign(state, {
      currentPrice: event.currentPrice,
      leaderAlias: event.leaderAlias,
      bidCount: event.bidCount,
      minimumNextBid: event.minimumNextBid,
      reserveMet: event.reserveMet,
      endsAt: event.endsAt,
    });
    prependHistory(event);
    if (wasLeading && event.leaderAlias !== mine) outbid(event.currentPrice, event.minimumNextBid);
  } else if (event.type === 'extended') {
    state.endsAt = event.endsAt;
  } else if (event.type === 'closed') {
    Object.assign(state, { status: event.status, winnerAlias: event.winnerAlias, reserveMet: event.reserveMet });
    if (event.finalPrice !== null) state.currentPrice = event.finalPrice;
    const mine = myAlias();
    if (mine && event.winnerAlias === mine) won(event.finalPrice);
  } else if (event.type === 'cancelled') {
    state.status = 'cancelled';
  }
  render();
}

function outbid(price, minimum) {
  const next = minimum ? `; bid at least ${money(minimum)} to lead again` : '';
  show($('outbid-notification'), `You have been outbid. The price is now ${money(price)}${next}.`);
  $('leading-indicator').hidden = true;
}

function won(price) {
  show($('won-notification'), `You won this auction for ${money(price)}.`);
}

const live = new Live({
  onStatus: statusShower($('connection-status')),
  onEvent,
  onSnapshot(snapshot, { recovered }) {
    if (!recovered) {
      applySnapshot(snapshot);
      reloadHistory();
    }
    render();
  },
  onNotice(notice) {
    if (notice.auctionId !== id) return;
    if (notice.type === 'outbid') outbid(notice.currentPrice, notice.minimumNextBid);
    if (notice.type === 'won') won(notice.finalPrice);
  },
});

// --- bidding -----------------------------------------------------------------------------

async function submit(kind, body) {
  const success = $('bid-success-message');
  const error = $('bid-error-message');
  success.hidden = true;
  error.hidden = true;
  if (!currentUser()) {
    show(error, 'Log in to bid.');
    return;
  }
  const bidId = kind === 'buy_now' ? undefined : uuid();
  for (let attempt = 0; attempt <= RETRIES; attempt += 1) {
    try {
      const result = await send(kind, body, bidId);
      accepted(kind, result);
      return;
    } catch (failure) {
      const code = failure.code ?? 'internal';
      if (code === 'unavailable' && bidId && attempt < RETRIES) {
        await new Promise((resolve) => { setTimeout(resolve, 300 * 2 ** attempt); });
        continue; // the same bidId: the server answers it once, whatever happened before
      }
      show(error, errorWords(code, failure.message, failure.details ?? failure));
      return;
    }
  }
}

async function send(kind, body, bidId) {
  const withId = bidId ? { ...body, bidId } : body;
  if (live.connected && live.authed) {
    const type = kind === 'buy_now' ? 'buy_now' : kind === 'max' ? 'max_bid' : 'bid';
    return live.ask({ type, auctionId: id, ...withId });
  }
  const path = kind === 'buy_now' ? 'buy-now' : kind === 'max' ? 'max-bid' : 'bid';
  try {
    return await request(`/auctions/${id}/${path}`, { method: 'POST', body: withId });
  } catch (failure) {
    if (failure instanceof ApiError) throw Object.assign(failure, failure.details);
    throw Object.assign(failure, { code: 'unavailable' });
  }
}

function accepted(kind, result) {
  rememberAlias(result.bidderAlias);
  if (result.seq > state.seq && result.currentPrice !== undefined) {
    // The events follow on the socket; the answer already tells the price.
    state.currentPrice = result.currentPrice;
    state.bidCount = Math.max(state.bidCount, result.bidCount);
    if (result.endsAt) state.endsAt = result.endsAt;
  }
  if (result.leading) state.leaderAlias = result.bidderAlias;
  const words = kind === 'buy_now' ? `You bought it for ${money(result.amount)}.`
    : kind === 'max' ? `Your maximum of ${money(result.amount)} is set.`
      : `Your bid of ${money(result.amount)} was accepted.`;
  show($('bid-success-message'), result.leading ? `${words} You are the highest bidder.` : words);
  if (!result.leading && kind !== 'buy_now') outbid(result.currentPrice);
  bidTyped = false;
  if (kind === 'max') maxInput.value = '';
  render();
  // A max bid's answer may say we were outbid at once; its events bring the exact minimum.
}

function amountFrom(input) {
  const value = parseMoney(input.value);
  if (value === null) show($('bid-error-message'), 'Enter a whole number of dollars, like 25000 or 25,000.');
  return value;
}

root.querySelector('[data-bid-form]').addEventListener('submit', (event) => {
  event.preventDefault();
  $('bid-error-message').hidden = true;
  const amount = amountFrom(bidInput);
  if (amount !== null) submit('bid', { amount });
});
root.querySelector('[data-max-form]').addEventListener('submit', (event) => {
  event.preventDefault();
  $('bid-error-message').hidden = true;
  const maxAmount = amountFrom(maxInput);
  if (maxAmount !== null) submit('max', { maxAmount });
});
$('buy-now-button')?.addEventListener('click', () => submit('buy_now', {}));
bidInput.addEventListener('input', () => { bidTyped = true; });
window.addEventListener('bidserver:session', render);

// --- start -------------------------------------------------------------------------------

live.watch(id, state.seq);
live.start();
// The buttons stay disabled in the HTML until this module handles them: a click before
// that would submit the form natively instead of bidding.
for (const button of root.querySelectorAll('[data-bid-forms] button')) button.disabled = false;
render();
setInterval(tick, 250);
if (currentUser()?.role === 'admin') reloadHistory(); // admins see user ids
