/**
 * CSV as RFC 4180 writes it: fields separated by commas, records ended by CRLF, and a field that holds a comma, a
 * double quote, a CR or an LF (or starts or ends with a space) enclosed in double quotes, with its quotes doubled.
 * Values are written as they are (no spreadsheet-formula escaping: the export is data, to be read back exactly).
 */
import type { JsonValue } from "../core/json.js";

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

/** One field: empty for null/undefined, numbers and booleans as JSON writes them, objects and arrays as JSON. */
export function csvField(value: JsonValue | undefined): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, with its CRLF. */
export function csvRecord(values: ReadonlyArray<JsonValue | undefined>): string {
  return `${values.map(csvField).join(",")}\r\n`;
}
