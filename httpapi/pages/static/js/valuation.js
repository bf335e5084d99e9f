// The back office's valuation (CONTRACT §8) of the vehicle a seller is pricing: it asks
// GET /vehicles/{id}/valuation and says what the answer is, in the words the vehicle and
// auction pages render on the server (httpapi/pages/valuation.py): the estimate, its 80 %
// range and what it rests on; or plainly that there are too few comparable sales; or that
// it could not be asked. It never shows a number the server did not compute.
import { money } from './format.js';

export const MIN_COMPARABLES = 5; // bidserver.pricing.MIN_COMPARABLES: fewer, no estimate

function plural(n, word) {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

function restsOn(answer) {
  if (answer.basis === 'provider') return 'from an outside price guide';
  const sales = plural(answer.comparables, 'comparable sale');
  return answer.scope === 'make'
    ? `from ${sales} of other models of this make (too few of this model: less sure)`
    : `from ${sales} on this marketplace`;
}

// The words for an answer of GET /vehicles/{id}/valuation (null: it could not be asked).
export function valuationWords(answer) {
  if (!answer) return 'Estimated value: not available right now.';
  if (answer.basis === 'none' || typeof answer.estimate !== 'number') {
    const found = Number.isInteger(answer.comparables) ? answer.comparables : 0;
    return `No estimate yet: too few comparable sales (${found} found, ${MIN_COMPARABLES} needed).`;
  }
  const range = typeof answer.low === 'number' && typeof answer.high === 'number'
    ? `; 80 % likely between ${money(answer.low)} and ${money(answer.high)}` : '';
  return `Estimated value: ${money(answer.estimate)}${range}; ${restsOn(answer)}.`;
}

async function fetchValuation(vehicleId) {
  try {
    const response = await fetch(`/vehicles/${encodeURIComponent(vehicleId)}/valuation`, {
      headers: { Accept: 'application/json' }, credentials: 'omit',
    });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

// Fills `element` with the valuation of `vehicleId` and returns the answer (null if none
// could be had). A later call on the same element wins over an earlier one still waiting.
export async function showValuation(element, vehicleId) {
  if (!element) return null;
  const asked = String(vehicleId ?? '');
  element.dataset.asked = asked;
  element.dataset.state = 'loading';
  if (!asked) {
    element.textContent = 'Estimated value: choose a vehicle to see it.';
    element.dataset.state = 'empty';
    return null;
  }
  element.textContent = 'Estimated value: looking at comparable sales…';
  const answer = await fetchValuation(asked);
  if (element.dataset.asked !== asked) return null; // another vehicle was chosen meanwhile
  element.textContent = valuationWords(answer);
  element.dataset.state = !answer ? 'unavailable' : answer.basis;
  return answer && typeof answer.estimate === 'number' ? answer : null;
}

// The back office's warning while a reserve is above the top of the valuation's 80 % range
// (`high`): the sales say a price that high is reached less than one time in ten, so the
// auction will likely end unsold. No valuation (too few sales, none asked): no warning.
export function reserveWarning(answer, reserve) {
  if (!answer || typeof answer.high !== 'number' || reserve === null || reserve === undefined) return '';
  if (reserve <= answer.high) return '';
  return `The reserve ${money(reserve)} is above the estimate's likely range (${money(answer.low)} to ${money(answer.high)}): `
    + 'fewer than 1 in 10 comparable cars sold that high, so the auction may well end unsold.';
}
