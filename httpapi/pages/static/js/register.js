import { ApiError, login, register } from './api.js';

const form = document.querySelector('[data-register-form]');
const error = document.querySelector('[data-testid="register-error"]');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const displayName = form.elements.displayName.value.trim();
  const email = form.elements.email.value.trim();
  const password = form.elements.password.value;
  const problem = !displayName ? 'Enter your name.'
    : !email.includes('@') ? 'Enter a valid email address.'
      : password.length < 10 ? 'The password needs at least 10 characters.' : null;
  if (problem) {
    error.textContent = problem;
    error.hidden = false;
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    await register(email, password, displayName);
    await login(email, password);
    location.assign('/auctions/active');
  } catch (failure) {
    error.textContent = failure instanceof ApiError && failure.code === 'email_taken'
      ? 'An account with this email exists already: log in instead.'
      : failure instanceof ApiError ? failure.message : 'Could not create the account just now.';
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
});
form.querySelector('button[type="submit"]').disabled = false; // ready: see auction.js
