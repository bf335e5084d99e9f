// Live auctions: every card's price, bid count and countdown follow its auction live.
import { Live, statusShower } from './live.js';
import { bids, money, remaining } from './format.js';

const cards = new Map();
for (const card of document.querySelectorAll('[data-testid="auction-item"]')) {
  cards.set(Number(card.dataset.auctionId), card);
}

const live = new Live({
  onStatus: statusShower(document.querySelector('[data-testid="connection-status"]')),
  onSnapshot(snapshot) {
    const card = cards.get(snapshot.auctionId);
    if (!card) return;
    card.dataset.endsAt = snapshot.endsAt;
    if (snapshot.currentPrice !== null) setPrice(card, snapshot.currentPrice, snapshot.bidCount);
    if (snapshot.status !== 'open') ended(card, snapshot.status === 'cancelled' ? 'Cancelled' : 'Ended');
  },
  onEvent(event) {
    const card = cards.get(event.auctionId);
    if (!card) return;
    if (event.type === 'bid') setPrice(card, event.currentPrice, event.bidCount);
    if (event.type === 'bid' || event.type === 'extended') card.dataset.endsAt = event.endsAt;
    if (event.type === 'closed') ended(card, event.finalPrice !== null && event.winnerAlias ? `Sold for ${money(event.finalPrice)}` : 'Ended');
    if (event.type === 'cancelled') ended(card, 'Cancelled');
  },
});

function setPrice(card, price, count) {
  card.querySelector('[data-price]').textContent = money(price);
  card.querySelector('.card-price .label').textContent = 'Current bid';
  card.querySelector('[data-bids]').textContent = bids(count);
}

function ended(card, words) {
  card.dataset.ended = words;
  card.querySelector('[data-countdown]').textContent = words;
}

function tick() {
  const now = live.now();
  for (const card of cards.values()) {
    if (card.dataset.ended) continue;
    const left = Date.parse(card.dataset.endsAt) - now;
    card.querySelector('[data-countdown]').textContent = left > 0 ? `${remaining(left)} left` : 'Ending…';
  }
}

for (const [id, card] of cards) live.watch(id, Number(card.dataset.seq));
if (cards.size) {
  live.start();
  tick();
  setInterval(tick, 1000);
}
