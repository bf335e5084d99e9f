// On every page: who is logged in, the log-out button, the back-office link for staff, and
// local times for every <time> the server rendered in UTC.
import { currentUser, logout } from './api.js';
import { localTime } from './format.js';

const STAFF = new Set(['seller', 'admin']);

function show() {
  const user = currentUser();
  const name = document.querySelector('[data-user-name]');
  if (name) {
    name.hidden = !user;
    name.textContent = user ? `${user.displayName} (${user.role})` : '';
  }
  for (const link of document.querySelectorAll('[data-logged-out]')) link.hidden = Boolean(user);
  for (const link of document.querySelectorAll('[data-staff]')) link.hidden = !(user && STAFF.has(user.role));
  const button = document.querySelector('[data-testid="logout-button"]');
  if (button) button.hidden = !user;
}

export function localiseTimes(root = document) {
  for (const time of root.querySelectorAll('time[datetime]')) {
    if (time.closest('[data-testid="ends-at"], [data-countdown]')) continue;
    time.textContent = localTime(time.getAttribute('datetime'));
  }
}

document.querySelector('[data-testid="logout-button"]')?.addEventListener('click', () => {
  logout();
  location.assign('/login');
});
window.addEventListener('bidserver:session', show);
show();
localiseTimes();
