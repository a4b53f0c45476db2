/**
 * Small statistics for benchmark samples.
 *
 * @module
 */

/** The median of `values`, NaN ignored (NaN for none). */
export function median(values: readonly number[]): number {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The `q` quantile (0…1) of `values`, interpolated (NaN for none). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/** A client's output: one row of `columns` numbers per non-empty line ("-" is NaN: not measured). */
export function parseNumberRows(text: string, columns: number): number[][] {
  const rows = text.split("\n").map((line) => line.trim()).filter((line) => line !== "")
    .map((line) => line.split(/\s+/).map((cell) => cell === "-" ? Number.NaN : Number(cell)));
  if (
    rows.length === 0 ||
    rows.some((row) =>
      row.length < columns ||
      row.some((value, index) => index > 0 ? value < 0 : !Number.isFinite(value))
    )
  ) {
    throw new Error(
      `Expected ${columns} numbers per line, got: ${JSON.stringify(text.slice(0, 200))}`,
    );
  }
  return rows;
}
