// RFC 4180 CSV for label tables: quoted fields may hold commas, quotes ("") and newlines.
// Returns the header and the rows as strings; typing the cells is the caller's business.
export type CsvTable = { readonly header: string[]; readonly rows: string[][]; readonly lines: number[] };

/** Splits CSV text into rows; `lines[i]` is the 1-based line where row i starts (for messages). */
export function parseCsv(text: string): CsvTable {
  const rows: string[][] = [];
  const lines: number[] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRow = (): void => {
    row.push(field);
    field = '';
    // A blank line (one empty field) is not a row.
    if (row.length > 1 || row[0] !== '') {
      rows.push(row);
      lines.push(rowLine);
    }
    row = [];
  };
  for (; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else field += c;
  }
  if (quoted) throw new Error(`a quoted field opened on line ${rowLine} is never closed`);
  if (field !== '' || row.length > 0) endRow();
  const header = (rows.shift() ?? []).map((h) => h.trim());
  lines.shift();
  return { header, rows, lines };
}
