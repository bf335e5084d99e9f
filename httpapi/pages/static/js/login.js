import { ApiError, login } from './api.js';

const form = document.querySelector('[data-login-form]');
const error = document.querySelector('[data-testid="login-error"]');
const params = new URLSearchParams(location.search);
// Only this site's own back office: never an open redirect.
const next = params.get('next') === '/backoffice' ? '/backoffice' : '/auctions/active';
const reason = document.querySelector('[data-login-reason]');
if (params.get('reason') === 'staff' && reason) {
  reason.hidden = false;
  reason.textContent = 'The back office is for sellers and admins. Log in with such an account.';
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const email = form.elements.email.value.trim();
  const password = form.elements.password.value;
  if (!email || !password) {
    error.textContent = 'Enter your email and password.';
    error.hidden = false;
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    await login(email, password);
    location.assign(next);
  } catch (failure) {
    error.textContent = failure instanceof ApiError && failure.status === 401
      ? 'Wrong email or password.'
      : failure instanceof ApiError && failure.status === 429
        ? 'Too many attempts. Wait a minute and try again.'
        : 'Could not log in just now. Try again.';
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
});
form.querySelector('button[type="submit"]').disabled = false; // ready: see auction.js
