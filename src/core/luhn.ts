// Luhn (mod 10) check used by payment card detection: it is what tells a card number from any
// other 13–19 digit number (order ids, timestamps), so random digits are flagged only 1 time in 10.

/** True when `digits` (only 0-9, no separators) passes the Luhn check. */
export function luhnValid(digits: string): boolean {
  if (digits.length === 0) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** The digit that makes `partial` + digit Luhn-valid (used to build test data and examples). */
export function luhnCheckDigit(partial: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(partial + d)) return String(d);
  throw new Error(`not a digit string: ${partial}`);
}
