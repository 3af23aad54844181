/**
 * A whole-number command-line option of a bench script, at least `min`; anything else prints
 * what is wrong and the script's usage, and exits 2 (a silent rounding would misreport the method).
 */
export function wholeNumber(name: string, text: string, min: number, usage: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`--${name} must be an integer >= ${min}\n${usage}\n`);
    process.exit(2);
  }
  return value;
}
