// The valuation block (CONTRACT §8). It asks GET /vehicles/{id}/valuation and says "no
// estimate yet" until that endpoint answers with numbers, so the pricing service plugs in
// here without the pages changing.
import { money } from './format.js';

export async function showValuation(element, vehicleId) {
  if (!element) return;
  element.textContent = 'Estimated value: no estimate yet';
  if (!vehicleId) return;
  let answer;
  try {
    const response = await fetch(`/vehicles/${encodeURIComponent(vehicleId)}/valuation`, {
      headers: { Accept: 'application/json' }, credentials: 'omit',
    });
    if (!response.ok) return;
    answer = await response.json();
  } catch {
    return;
  }
  if (!answer || answer.basis === 'none' || typeof answer.estimate !== 'number') return;
  const range = typeof answer.low === 'number' && typeof answer.high === 'number'
    ? ` (likely ${money(answer.low)} to ${money(answer.high)})` : '';
  const basis = answer.basis === 'sales' && answer.comparables
    ? `, from ${answer.comparables} comparable sale${answer.comparables === 1 ? '' : 's'}` : '';
  element.textContent = `Estimated value: ${money(answer.estimate)}${range}${basis}`;
}

export function valuationFor(element) {
  return showValuation(element, element?.dataset.vehicleId);
}
