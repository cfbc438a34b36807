import { numericValue } from '../../lib/drift/dataset.js';
import { openTable } from '../../lib/drift/table.js';

/** Reads the model's input columns of a CSV as the runtime hands them to observers: row-major, missing as NaN. */
export async function tensorRows(file: string, order: readonly string[]): Promise<{ data: Float64Array; rows: number }> {
  const table = await openTable(file);
  const idx = order.map((n) => table.columns.indexOf(n));
  const values: number[] = [];
  for await (const row of table.rows()) for (const i of idx) values.push(numericValue(row.cells[i]!) ?? NaN);
  return { data: Float64Array.from(values), rows: values.length / order.length };
}
