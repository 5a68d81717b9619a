/**
 * Aligned text tables: a header row, columns padded to their widest cell, numbers right-aligned.
 *
 * @module
 * @internal
 */

/** One column of a {@link formatTable}. @internal */
export interface Column<R> {
  /** Header text. */
  header: string;
  /** The cell of a row. */
  value(row: R): string | number;
  /** Right-align (the default for number cells). */
  right?: boolean;
}

/** Lays `rows` out under `columns`, two spaces apart; each line ends with '\n'. @internal */
export function formatTable<R>(columns: Column<R>[], rows: R[]): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const right = columns.map((c, i) => c.right ?? (cells.length > 0 && cells.every((r) => typeof r[i] === 'number')));
  const text = cells.map((r) => r.map(String));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...text.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (right[i] ? v.padStart(widths[i]!) : i === values.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd() + '\n';
  return line(columns.map((c) => c.header)) + text.map(line).join('');
}
