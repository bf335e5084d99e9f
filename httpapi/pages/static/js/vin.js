// The VIN check digit (position 9), the same rule as the server's bidserver/vin.py.
const LETTERS = { A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8, J: 1, K: 2, L: 3, M: 4, N: 5, P: 7, R: 9, S: 2, T: 3, U: 4, V: 5, W: 6, X: 7, Y: 8, Z: 9 };
const WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

function value(char) {
  if (/[0-9]/.test(char)) return Number(char);
  return LETTERS[char];
}

// null when `vin` is valid, else what is wrong with it, in words.
export function vinProblem(raw) {
  const vin = raw.trim().toUpperCase();
  if (!vin) return 'Enter the 17-character VIN.';
  const bad = [...vin].find((c) => value(c) === undefined);
  if (bad) return `“${bad}” cannot be in a VIN (letters I, O and Q are never used).`;
  if (vin.length !== 17) return `A VIN has 17 characters; this has ${vin.length}.`;
  let total = 0;
  for (let i = 0; i < 17; i += 1) total += value(vin[i]) * WEIGHTS[i];
  const check = total % 11 === 10 ? 'X' : String(total % 11);
  if (vin[8] !== check) return `The check digit (9th character) should be ${check}: the VIN is mistyped.`;
  return null;
}
