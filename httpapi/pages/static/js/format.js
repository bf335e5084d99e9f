// Money, times and countdowns as the pages show them.
const dollars = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });

export function money(value) {
  return value === null || value === undefined || value === '' ? '' : dollars.format(Number(value));
}

// "25,000", "$25,000" or "25000" to 25000; null for anything that is not whole dollars.
export function parseMoney(text) {
  const cleaned = String(text).trim().replace(/^\$/, '').replace(/[,\s]/g, '');
  if (!/^\d{1,13}$/.test(cleaned)) return null;
  const value = Number(cleaned);
  return value >= 1 && value <= 1e12 ? value : null;
}

export function remaining(ms) {
  if (ms <= 0) return 'ended';
  const total = Math.floor(ms / 1000);
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n) => String(n).padStart(2, '0');
  if (days > 0) return `${days}d ${hours}h ${pad(minutes)}m`;
  if (hours > 0) return `${hours}h ${pad(minutes)}m ${pad(seconds)}s`;
  return `${minutes}m ${pad(seconds)}s`;
}

export function localTime(iso) {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : at.toLocaleString([], { dateStyle: 'medium', timeStyle: 'medium' });
}

export function bids(count) {
  return `${count} bid${count === 1 ? '' : 's'}`;
}

export const KIND_WORDS = { bid: 'bid', max: 'max bid', proxy: 'automatic bid', buy_now: 'buy now' };

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Every error code of CONTRACT §3 in words a bidder understands.
export function errorWords(code, message, details = {}) {
  switch (code) {
    case 'bid_too_low':
      return details.minimumNextBid ? `The minimum bid is ${money(details.minimumNextBid)}.` : 'That bid is below the minimum.';
    case 'already_leading': return 'You are already the highest bidder: no need to bid against yourself.';
    case 'max_below_current': return 'Your new maximum must be higher than the maximum you already set.';
    case 'seller_cannot_bid': return 'Sellers cannot bid on their own auctions.';
    case 'buy_now_unavailable': return 'Buy now is no longer available for this auction.';
    case 'auction_not_open': return 'This auction is not open for bids (it has not started, or it was cancelled).';
    case 'auction_closed': return 'This auction has ended: bids are no longer accepted.';
    case 'unauthenticated': return 'Your login has expired. Log in again to bid.';
    case 'forbidden': return 'Your account is not allowed to do that.';
    case 'not_found': return 'This auction no longer exists.';
    case 'rate_limited': return 'Too many bids in a short time. Wait a moment and try again.';
    case 'unavailable': return 'The server could not confirm your bid in time. Try again: the same bid is never placed twice.';
    case 'bad_request': return `That could not be sent: ${message || 'check the amount'}.`;
    default: return 'Something went wrong on our side. Please try again.';
  }
}
