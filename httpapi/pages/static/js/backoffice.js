// The back office: vehicles (create, edit, delete, photos), auctions (create, by status), a
// live table of open auctions, cancel and bid histories with user ids for admins. Every
// action is a REST call with the user's token; the server decides what each role may do.
import { ApiError, currentUser, request } from './api.js';
import { Live, statusShower } from './live.js';
import { bids, KIND_WORDS, localTime, money, parseMoney, remaining } from './format.js';
import { vinProblem } from './vin.js';
import { reserveWarning, showValuation } from './valuation.js';

const STAFF = new Set(['seller', 'admin']);
const PAGE = 20;
const REFRESH_MS = 5000;
const user = currentUser();
if (!user || !STAFF.has(user.role)) {
  location.replace(`/login?next=/backoffice${user ? '&reason=staff' : ''}`);
  throw new Error('not staff');
}
const admin = user.role === 'admin';
const mine = admin ? '' : `&sellerId=${user.id}`;
const q = (selector) => document.querySelector(selector);
const t = (id) => document.querySelector(`[data-testid="${id}"]`);

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}
function say(node, text) {
  node.textContent = text ?? '';
  node.hidden = !text;
}
function title(v) {
  return v ? `${v.year} ${v.make} ${v.model}` : '';
}
function thumbOf(v) {
  const url = (v.photos || []).find((p) => p.startsWith('/media/'));
  return url ? url.replace(/\.(jpg|png|webp)$/, '-thumb.$1') : null;
}
function words(failure) {
  if (!(failure instanceof ApiError)) return 'The server could not be reached. Try again.';
  if (failure.status === 415) return 'That file is not an image: choose a JPEG, PNG or WebP photo.';
  return failure.message;
}

q('[data-bo-loading]').hidden = true;
q('[data-backoffice]').hidden = false;
q('[data-bo-user]').textContent = user.displayName;
q('[data-bo-role]').textContent = admin ? 'admin' : 'seller';
q('[data-vehicles-title]').textContent = admin ? 'All vehicles' : 'Your vehicles';
for (const cell of document.querySelectorAll('[data-admin-only]')) cell.hidden = !admin;

// --- vehicles ----------------------------------------------------------------------------

const vehicles = { page: 1, q: '', items: [], total: 0 };
const known = new Map(); // vehicle id -> vehicle, for the auction form and tables

let vehicleLoads = 0;
async function loadVehicles() {
  const load = ++vehicleLoads;
  const query = vehicles.q ? `&q=${encodeURIComponent(vehicles.q)}` : '';
  const page = await request(`/vehicles?limit=${PAGE}&page=${vehicles.page}${mine}${query}`);
  if (load !== vehicleLoads) return; // a newer search or page answered meanwhile
  vehicles.items = page.items;
  vehicles.total = page.total;
  for (const v of page.items) known.set(v.id, v);
  renderVehicles();
  fillVehicleChoice();
}

function renderVehicles() {
  const list = q('[data-vehicle-rows]');
  list.replaceChildren(...vehicles.items.map(vehicleRow));
  q('[data-vehicles-empty]').hidden = vehicles.items.length > 0;
  const last = Math.max(1, Math.ceil(vehicles.total / PAGE));
  const pager = q('[data-vehicle-pager]');
  pager.hidden = last <= 1;
  pager.querySelector('[data-page-label]').textContent = `Page ${vehicles.page} of ${last}`;
  pager.querySelector('[data-page="previous"]').disabled = vehicles.page <= 1;
  pager.querySelector('[data-page="next"]').disabled = vehicles.page >= last;
}

function vehicleRow(v) {
  const item = el('li', null, { 'data-testid': 'vehicle-row', 'data-vehicle-id': String(v.id) });
  const thumb = thumbOf(v);
  item.append(thumb ? el('img', null, { class: 'thumb', src: thumb, alt: title(v), width: '120', height: '90' })
    : el('div', 'No photo', { class: 'thumb nophoto' }));
  const body = el('div');
  const name = el('a', title(v), { href: `/vehicles/${v.id}` });
  body.append(el('strong'), el('div', `VIN ${v.vin} · ${v.mileage.toLocaleString('en-US')} miles · ${v.photos.length} photo${v.photos.length === 1 ? '' : 's'}`, { class: 'hint' }));
  body.firstChild.append(name);
  const actions = el('div', null, { class: 'actions' });
  const edit = el('button', 'Edit', { type: 'button' });
  edit.addEventListener('click', () => editVehicle(v));
  const start = el('button', 'Start auction', { type: 'button' });
  start.addEventListener('click', () => chooseVehicle(v.id));
  const label = el('label', `Add a photo`, { class: 'file-label' });
  const file = el('input', null, { type: 'file', accept: 'image/jpeg,image/png,image/webp', 'data-testid': 'photo-input' });
  label.append(file);
  const problem = el('p', null, { class: 'error', role: 'alert', 'data-testid': 'photo-error', hidden: '' });
  file.addEventListener('change', () => upload(v, file, problem));
  const remove = el('button', 'Delete', { type: 'button', class: 'danger' });
  remove.addEventListener('click', () => confirmDelete(v, actions, problem));
  actions.append(edit, start, label, remove);
  body.append(actions, problem);
  item.append(body);
  return item;
}

async function upload(v, input, problem) {
  const file = input.files?.[0];
  if (!file) return;
  say(problem, '');
  const form = new FormData();
  form.append('file', file);
  try {
    await request(`/vehicles/${v.id}/photos`, { method: 'POST', form });
    await loadVehicles();
  } catch (failure) {
    say(problem, words(failure));
  } finally {
    input.value = '';
  }
}

function confirmDelete(v, actions, problem) {
  const really = el('button', `Really delete ${title(v)}?`, { type: 'button', class: 'danger' });
  really.addEventListener('click', async () => {
    try {
      await request(`/vehicles/${v.id}`, { method: 'DELETE' });
      await loadVehicles();
    } catch (failure) {
      say(problem, failure.code === 'vehicle_in_auction' ? 'It has a scheduled or open auction.'
        : failure.code === 'vehicle_has_auctions' ? 'Past auctions keep it on record.' : words(failure));
      really.remove();
    }
  });
  actions.append(really);
  really.focus();
}

q('[data-vehicle-search]').addEventListener('submit', (event) => {
  event.preventDefault();
  vehicles.q = event.target.elements.q.value.trim();
  vehicles.page = 1;
  loadVehicles().catch(() => {});
});
q('[data-vehicle-pager]').addEventListener('click', (event) => {
  const which = event.target.dataset?.page;
  if (!which) return;
  vehicles.page += which === 'next' ? 1 : -1;
  loadVehicles().catch(() => {});
});

// --- the vehicle form --------------------------------------------------------------------

const vform = q('[data-vehicle-form]');
let editing = null;
const vinStatus = t('vin-status');

function checkVin() {
  const problem = vinProblem(vform.elements.vin.value);
  vinStatus.textContent = vform.elements.vin.value ? (problem ?? 'The VIN and its check digit are valid.') : '';
  vinStatus.className = problem && vform.elements.vin.value ? 'hint error' : 'hint';
  vform.elements.vin.setAttribute('aria-invalid', problem && vform.elements.vin.value ? 'true' : 'false');
  return problem;
}
vform.elements.vin.addEventListener('input', checkVin);

function editVehicle(v) {
  editing = v;
  q('[data-vform-title]').textContent = `Edit ${title(v)}`;
  for (const name of ['vin', 'make', 'model', 'year', 'mileage', 'color', 'description']) vform.elements[name].value = v[name] ?? '';
  q('[data-cancel-edit]').hidden = false;
  checkVin();
  vform.elements.vin.focus();
}

function resetVehicleForm() {
  editing = null;
  vform.reset();
  q('[data-vform-title]').textContent = 'Add a vehicle';
  q('[data-cancel-edit]').hidden = true;
  checkVin();
}
q('[data-cancel-edit]').addEventListener('click', resetVehicleForm);

function wholeNumber(text) {
  return /^\s*\d{1,10}\s*$/.test(text.replace(/,/g, '')) ? Number(text.replace(/[,\s]/g, '')) : null;
}

vform.addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = t('vehicle-error');
  say(error, '');
  say(t('vehicle-saved'), '');
  const vinIssue = checkVin();
  const year = wholeNumber(vform.elements.year.value);
  const mileage = wholeNumber(vform.elements.mileage.value);
  const problem = vinIssue ?? (!vform.elements.make.value.trim() ? 'Enter the make.'
    : !vform.elements.model.value.trim() ? 'Enter the model.'
      : year === null ? 'Enter the year as a number, like 2019.'
        : mileage === null ? 'Enter the mileage as a whole number.' : null);
  if (problem) {
    say(error, problem);
    return;
  }
  const body = {
    vin: vform.elements.vin.value.trim().toUpperCase(),
    make: vform.elements.make.value.trim(),
    model: vform.elements.model.value.trim(),
    year,
    mileage,
    color: vform.elements.color.value.trim(),
    description: vform.elements.description.value.trim(),
  };
  try {
    const saved = editing
      ? await request(`/vehicles/${editing.id}`, { method: 'PATCH', body })
      : await request('/vehicles', { method: 'POST', body });
    known.set(saved.id, saved);
    say(t('vehicle-saved'), `${editing ? 'Saved' : 'Added'} ${title(saved)}.`);
    resetVehicleForm();
    vehicles.page = 1;
    await loadVehicles();
    chooseVehicle(saved.id);
  } catch (failure) {
    say(error, words(failure));
  }
});

// --- the auction form --------------------------------------------------------------------

const aform = q('[data-auction-form]');
const valuation = aform.querySelector('[data-valuation]');

function fillVehicleChoice() {
  const select = aform.elements.vehicleId;
  const chosen = select.value;
  const options = [...known.values()].sort((a, b) => b.id - a.id)
    .map((v) => el('option', `${title(v)} · ${v.vin}`, { value: String(v.id) }));
  select.replaceChildren(el('option', 'Choose a vehicle', { value: '' }), ...options);
  if (chosen && known.has(Number(chosen))) select.value = chosen;
}

// The valuation of the chosen vehicle, and a warning while the reserve is above its range.
let valued = null;
function warnReserve() {
  say(t('reserve-warning'), reserveWarning(valued, parseMoney(aform.elements.reservePrice.value)));
}
async function valueChoice() {
  valued = null;
  warnReserve();
  const chosen = aform.elements.vehicleId.value;
  const answer = await showValuation(valuation, chosen);
  if (aform.elements.vehicleId.value !== chosen) return; // another was chosen meanwhile
  valued = answer;
  warnReserve();
}
function chooseVehicle(vehicleId) {
  fillVehicleChoice();
  aform.elements.vehicleId.value = String(vehicleId);
  valueChoice();
}
aform.elements.vehicleId.addEventListener('change', valueChoice);
aform.elements.reservePrice.addEventListener('input', warnReserve);

function localInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
function defaultTimes() {
  const now = new Date();
  aform.elements.startsAt.value = localInput(now);
  aform.elements.endsAt.value = localInput(new Date(now.getTime() + 24 * 3600 * 1000));
}
defaultTimes();

function optionalMoney(name) {
  const text = aform.elements[name].value.trim();
  if (!text) return [undefined, null];
  const value = parseMoney(text);
  return value === null ? [undefined, 'Prices are whole dollars, like 25000.'] : [value, null];
}

function auctionBody() {
  const vehicleId = Number(aform.elements.vehicleId.value);
  if (!vehicleId) return [null, 'Choose a vehicle.'];
  const startsAt = new Date(aform.elements.startsAt.value);
  const endsAt = new Date(aform.elements.endsAt.value);
  if (Number.isNaN(startsAt.getTime()) || Number.isNaN(endsAt.getTime())) return [null, 'Enter when the auction starts and ends.'];
  if (endsAt <= new Date()) return [null, 'The end must be in the future.'];
  if (endsAt <= startsAt) return [null, 'The end must be after the start.'];
  const startingPrice = parseMoney(aform.elements.startingPrice.value);
  if (startingPrice === null) return [null, 'Enter the starting price in whole dollars.'];
  const [reservePrice, reserveProblem] = optionalMoney('reservePrice');
  const [buyNowPrice, buyProblem] = optionalMoney('buyNowPrice');
  if (reserveProblem || buyProblem) return [null, reserveProblem || buyProblem];
  if (reservePrice !== undefined && reservePrice < startingPrice) return [null, 'The reserve cannot be below the starting price.'];
  if (buyNowPrice !== undefined && buyNowPrice < Math.max(startingPrice, reservePrice ?? 0)) return [null, 'The buy-now price must be at least the starting and reserve prices.'];
  const body = { vehicleId, startsAt: startsAt.toISOString(), endsAt: endsAt.toISOString(), startingPrice };
  if (reservePrice !== undefined) body.reservePrice = reservePrice;
  if (buyNowPrice !== undefined) body.buyNowPrice = buyNowPrice;
  const snipe = aform.elements.antiSnipeSeconds.value.trim();
  if (snipe) body.antiSnipeSeconds = wholeNumber(snipe) ?? -1;
  const most = aform.elements.maxExtensions.value.trim();
  if (most) body.maxExtensions = wholeNumber(most) ?? -1;
  return [body, null];
}

aform.addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = t('auction-error');
  say(error, '');
  say(t('auction-created'), '');
  const [body, problem] = auctionBody();
  if (problem) {
    say(error, problem);
    return;
  }
  try {
    const made = await request('/auctions', { method: 'POST', body });
    const link = el('a', `auction ${made.id}`, { href: `/auctions/${made.id}` });
    const done = t('auction-created');
    done.replaceChildren(`Started `, link, ` (${made.status}).`);
    done.hidden = false;
    aform.reset();
    defaultTimes();
    valueChoice();
    await Promise.all([loadLive(), loadByStatus()]);
  } catch (failure) {
    say(error, failure.code === 'vehicle_in_auction' ? 'That vehicle already has a scheduled or open auction.' : words(failure));
  }
});

// --- live table of open auctions ---------------------------------------------------------

const rows = new Map(); // auction id -> {auction, row}
const live = new Live({
  onStatus: statusShower(t('connection-status')),
  onEvent(event) {
    const entry = rows.get(event.auctionId);
    if (!entry) return;
    const a = entry.auction;
    if (event.type === 'bid') Object.assign(a, { currentPrice: event.currentPrice, bidCount: event.bidCount, endsAt: event.endsAt });
    if (event.type === 'extended') a.endsAt = event.endsAt;
    if (event.type === 'closed' || event.type === 'cancelled') a.status = event.type === 'closed' ? event.status : 'cancelled';
    paintRow(entry);
    if (historyOf === event.auctionId && event.type === 'bid') showHistory(historyOf);
  },
});

async function loadLive() {
  let page;
  try {
    page = await request(`/auctions/active?limit=100${mine}`);
    say(q('[data-live-error]'), '');
  } catch (failure) {
    say(q('[data-live-error]'), words(failure));
    return;
  }
  await knowVehicles(page.items.map((a) => a.vehicleId));
  const seen = new Set();
  const body = q('[data-live-rows]');
  for (const auction of page.items) {
    seen.add(auction.id);
    let entry = rows.get(auction.id);
    if (!entry) {
      entry = { auction, row: liveRow(auction) };
      rows.set(auction.id, entry);
      live.watch(auction.id, auction.seq);
    } else {
      entry.auction = { ...entry.auction, watchers: auction.watchers };
    }
    paintRow(entry);
  }
  for (const [id, entry] of rows) {
    if (!seen.has(id) && entry.auction.status === 'open') entry.auction.status = 'closed';
  }
  body.replaceChildren(...[...rows.values()].filter((e) => e.auction.status === 'open' || seen.has(e.auction.id)).map((e) => e.row));
  q('[data-live-empty]').hidden = body.children.length > 0;
}

async function knowVehicles(ids) {
  const missing = [...new Set(ids)].filter((id) => !known.has(id));
  await Promise.all(missing.map(async (id) => {
    try {
      known.set(id, await request(`/vehicles/${id}`, { auth: false }));
    } catch { /* shown by id */ }
  }));
}

function liveRow(auction) {
  const row = el('tr', null, { 'data-testid': 'live-auction-row', 'data-auction-id': String(auction.id) });
  const link = el('a', `#${auction.id}`, { href: `/auctions/${auction.id}` });
  const first = el('td');
  first.append(link);
  row.append(first, el('td', null, { 'data-cell': 'vehicle' }), el('td', null, { 'data-cell': 'price' }),
    el('td', null, { 'data-cell': 'bids' }), el('td', null, { 'data-cell': 'watchers' }),
    el('td', null, { 'data-cell': 'left' }), el('td', null, { 'data-cell': 'actions' }));
  const actions = row.querySelector('[data-cell="actions"]');
  const history = el('button', 'History', { type: 'button' });
  history.addEventListener('click', () => showHistory(auction.id));
  actions.append(history);
  if (admin) {
    const cancel = el('button', 'Cancel', { type: 'button', class: 'danger', 'data-testid': 'cancel-auction-button' });
    cancel.addEventListener('click', () => cancelAuction(auction.id, cancel));
    actions.append(' ', cancel);
  }
  return row;
}

function paintRow({ auction, row }) {
  row.querySelector('[data-cell="vehicle"]').textContent = title(known.get(auction.vehicleId)) || `vehicle ${auction.vehicleId}`;
  row.querySelector('[data-cell="price"]').textContent = money(auction.currentPrice ?? auction.startingPrice);
  row.querySelector('[data-cell="bids"]').textContent = bids(auction.bidCount);
  row.querySelector('[data-cell="watchers"]').textContent = String(auction.watchers ?? 0);
  const left = Date.parse(auction.endsAt) - live.now();
  row.querySelector('[data-cell="left"]').textContent = auction.status === 'open'
    ? (left > 0 ? remaining(left) : 'closing…') : auction.status;
  for (const button of row.querySelectorAll('button.danger')) button.disabled = auction.status !== 'open';
}

async function cancelAuction(id, button) {
  if (button.dataset.armed !== 'yes') {
    button.dataset.armed = 'yes';
    button.textContent = 'Confirm cancel';
    return;
  }
  button.disabled = true;
  try {
    await request(`/auctions/${id}/cancel`, { method: 'POST' });
    const entry = rows.get(id);
    if (entry) {
      entry.auction.status = 'cancelled';
      paintRow(entry);
    }
    button.textContent = 'Cancelled';
    loadByStatus();
  } catch (failure) {
    say(q('[data-live-error]'), words(failure));
    button.disabled = false;
  }
}

// --- bid history (with user ids for admins) ----------------------------------------------

let historyOf = null;
async function showHistory(id) {
  historyOf = id;
  const panel = q('[data-history-panel]');
  panel.hidden = false;
  q('[data-history-id]').textContent = `#${id}`;
  let page;
  try {
    page = await request(`/auctions/${id}/bids?limit=100`);
  } catch (failure) {
    say(q('[data-live-error]'), words(failure));
    return;
  }
  const body = q('[data-history-rows]');
  body.replaceChildren(...page.items.map((r) => {
    const row = el('tr');
    row.append(el('td', r.seq), el('td', money(r.amount)), el('td', r.bidderAlias));
    if (admin) row.append(el('td', r.userId ?? ''));
    row.append(el('td', KIND_WORDS[r.kind] ?? r.kind), el('td', localTime(r.at)));
    return row;
  }));
  if (!page.items.length) {
    const row = el('tr');
    row.append(el('td', 'No bids yet.', { colspan: admin ? '6' : '5' }));
    body.append(row);
  }
}

// --- auctions by status ------------------------------------------------------------------

const statusForm = q('[data-status-form]');
async function loadByStatus() {
  const status = statusForm.elements.status.value;
  let page;
  try {
    page = await request(`/auctions?status=${status}&limit=50${mine}`);
  } catch {
    return;
  }
  await knowVehicles(page.items.map((a) => a.vehicleId));
  q('[data-status-rows]').replaceChildren(...page.items.map((a) => {
    const row = el('tr');
    const first = el('td');
    first.append(el('a', `#${a.id}`, { href: `/auctions/${a.id}` }));
    row.append(first, el('td', title(known.get(a.vehicleId)) || `vehicle ${a.vehicleId}`), el('td', a.status),
      el('td', localTime(a.startsAt)), el('td', localTime(a.endsAt)),
      el('td', money(a.currentPrice ?? a.startingPrice)), el('td', a.bidCount));
    return row;
  }));
}
statusForm.elements.status.addEventListener('change', loadByStatus);
statusForm.addEventListener('submit', (event) => event.preventDefault());

// --- start -------------------------------------------------------------------------------

function tick() {
  for (const entry of rows.values()) paintRow(entry);
}

await Promise.all([loadVehicles().catch(() => {}), loadLive(), loadByStatus()]);
fillVehicleChoice();
live.start();
setInterval(tick, 1000);
setInterval(() => { loadLive(); }, REFRESH_MS);
