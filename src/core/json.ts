/** JSON values as they are stored in PostgreSQL (jsonb) and carried in job payloads and strategy state. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };
