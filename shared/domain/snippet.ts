// Quoting input in error messages. A message may show a glimpse of a data file (a few characters
// where a parse failed), never more: the file may hold what its owner did not mean to show (a job can
// name any path locally, and a linked catalog file is not even named by the job), and a message goes
// to logs, terminals and Step Functions histories. Everything quoted is cut short and escaped, so no
// control character reaches a terminal or a log line.

/** Characters of a file an error message may quote. */
export const SNIPPET_CHARS = 24;

/** Control, format (bidi overrides, zero-width) and line/paragraph separator characters. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

function escapeInvisible(text: string): string {
  return text.replace(INVISIBLE, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

/** `text` cut to `max` characters, as a quoted string with invisible characters escaped. */
export function quoteSnippet(text: string, max = SNIPPET_CHARS): string {
  const chars = [...text];
  const cut = chars.length > max ? chars.slice(0, max).join('') : text;
  // JSON.stringify escapes quotes, backslashes and C0 controls; the rest is escaped here.
  const quoted = escapeInvisible(JSON.stringify(cut).slice(1, -1));
  return `"${quoted}"${chars.length > max ? '...' : ''}`;
}

/** A value read from a file (a property, a "type" member), for a message: short and escaped. */
export function quoteValue(value: unknown, max = SNIPPET_CHARS): string {
  if (typeof value === 'string') return quoteSnippet(value, max);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // Hostile nesting overflows the stack of JSON.stringify: describe it instead.
    return Array.isArray(value) ? 'an array nested too deep to show' : 'a value that cannot be shown';
  }
  return boundedMessage(text, max);
}

/**
 * A thrown value's message for a user message, when it may carry input (a library's parse error):
 * escaped and cut to `max` characters.
 */
export function boundedMessage(error: unknown, max = 160): string {
  const text = error instanceof Error ? error.message : String(error);
  const chars = [...text];
  return escapeInvisible(chars.length > max ? `${chars.slice(0, max).join('')}...` : text);
}

/**
 * Why JSON.parse failed, without the piece of input V8 quotes (`Unexpected token 'H', "HOME=/root"...
 * is not valid JSON`): the position where V8 gives one, else the unexpected character, escaped.
 */
export function jsonSyntaxProblem(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const quoted = /^Unexpected token '([\s\S])', (?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON$/.exec(
    text,
  );
  if (quoted) return `unexpected character ${quoteSnippet(quoted[1] as string)}`;
  // Other V8 messages give a position and no input; anything else is cut at its first quote.
  return boundedMessage(text.split('"')[0]?.trim() || 'not valid JSON', 120);
}
