/**
 * Form fields generated from JSON Schema (the request schema of `POST /v1/searches` in the OpenAPI document, which
 * the API derives from the catalogue's zod schemas): a select for a discriminated union (`oneOf` of objects told
 * apart by `type`) and, under it, one field per option of the chosen variant — numbers, selects for enums and
 * booleans, nested fieldsets for objects, JSON for arrays. A field left empty is left out of the body, so the
 * server's default (shown as the placeholder) applies. Each input's `name` is its dotted path in the body.
 */
import type { JsonSchema } from "./api";

type Obj = Record<string, unknown>;

const typeOf = (s: JsonSchema): string | undefined => (Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type);

/** The values of an enum-like schema: `enum`, `const`, or an `anyOf` of those (zod's literal unions). */
function enumValues(s: JsonSchema): unknown[] | undefined {
  if (s.enum) return s.enum;
  if (s.const !== undefined) return [s.const];
  const alts = s.anyOf ?? s.oneOf;
  if (alts?.length && alts.every((a) => a.enum || a.const !== undefined)) return alts.flatMap((a) => a.enum ?? [a.const]);
  return undefined;
}

/** The discriminator value of a union variant (`properties.type.enum[0]`). */
export const variantName = (s: JsonSchema): string => String(enumValues(s.properties?.type ?? {})?.[0] ?? "?");

const describe = (s: JsonSchema) => [s.description, s.default !== undefined && !s.description?.includes("default") ? `default ${JSON.stringify(s.default)}` : ""].filter(Boolean).join(" · ");

interface FieldProps {
  path: string;
  schema: JsonSchema;
  value: unknown;
  required: boolean;
  onChange: (v: unknown) => void;
}

function Field({ path, schema, value, required, onChange }: FieldProps) {
  const label = path.split(".").at(-1)!;
  const values = enumValues(schema);
  const hint = describe(schema);
  const placeholder = schema.default !== undefined ? String(schema.default) : required ? "required" : "";
  let input;
  if (values) {
    input = (
      <select name={path} value={value === undefined ? "" : JSON.stringify(value)} onChange={(e) => onChange(e.currentTarget.value === "" ? undefined : JSON.parse(e.currentTarget.value))}>
        {(!required || value === undefined) && <option value="">{schema.default !== undefined ? `(default: ${String(schema.default)})` : "—"}</option>}
        {values.map((v) => (
          <option key={JSON.stringify(v)} value={JSON.stringify(v)}>
            {String(v)}
          </option>
        ))}
      </select>
    );
  } else if (typeOf(schema) === "boolean") {
    input = (
      <select name={path} value={value === undefined ? "" : String(value)} onChange={(e) => onChange(e.currentTarget.value === "" ? undefined : e.currentTarget.value === "true")}>
        <option value="">{schema.default !== undefined ? `(default: ${String(schema.default)})` : "—"}</option>
        <option value="true">true</option>
        <option value="false">false</option>
      </select>
    );
  } else if (typeOf(schema) === "integer" || typeOf(schema) === "number") {
    input = (
      <input
        name={path}
        type="number"
        step={typeOf(schema) === "integer" ? 1 : "any"}
        min={schema.minimum}
        max={schema.maximum}
        placeholder={placeholder}
        value={value === undefined ? "" : String(value)}
        onInput={(e) => {
          const raw = e.currentTarget.value;
          onChange(raw === "" ? undefined : Number(raw));
        }}
      />
    );
  } else if (typeOf(schema) === "object" && schema.properties) {
    return (
      <fieldset class="nested">
        <legend title={hint}>{label}</legend>
        <ObjectFields path={path} schema={schema} value={(value as Obj | undefined) ?? {}} onChange={(v) => onChange(Object.keys(v).length ? v : undefined)} />
      </fieldset>
    );
  } else if (typeOf(schema) === "string") {
    input = <input name={path} type="text" placeholder={placeholder} value={value === undefined ? "" : String(value)} onInput={(e) => onChange(e.currentTarget.value === "" ? undefined : e.currentTarget.value)} />;
  } else {
    input = <JsonInput path={path} value={value} onChange={onChange} placeholder={placeholder || "JSON"} />;
  }
  return (
    <label class="field" title={hint}>
      <span class="field-name">
        {label}
        {required ? " *" : ""}
      </span>
      {input}
      {hint && <small class="hint">{hint}</small>}
    </label>
  );
}

function JsonInput({ path, value, onChange, placeholder }: { path: string; value: unknown; onChange: (v: unknown) => void; placeholder: string }) {
  return (
    <textarea
      name={path}
      rows={2}
      placeholder={placeholder}
      value={value === undefined ? "" : JSON.stringify(value)}
      onChange={(e) => {
        const raw = e.currentTarget.value.trim();
        if (raw === "") return onChange(undefined);
        try {
          onChange(JSON.parse(raw));
          e.currentTarget.setCustomValidity("");
        } catch {
          e.currentTarget.setCustomValidity("not valid JSON");
          e.currentTarget.reportValidity();
        }
      }}
    />
  );
}

export function ObjectFields({ path, schema, value, onChange, skip = [] }: { path: string; schema: JsonSchema; value: Obj; onChange: (v: Obj) => void; skip?: string[] }) {
  const required = new Set(schema.required ?? []);
  return (
    <div class="fields">
      {Object.entries(schema.properties ?? {})
        .filter(([k]) => !skip.includes(k))
        .map(([k, s]) => (
          <Field
            key={k}
            path={path ? `${path}.${k}` : k}
            schema={s}
            value={value[k]}
            required={required.has(k)}
            onChange={(v) => {
              const next = { ...value };
              if (v === undefined) delete next[k];
              else next[k] = v;
              onChange(next);
            }}
          />
        ))}
    </div>
  );
}

/** A discriminated union: the variant by its `type`, then the variant's options. `optional`: a "none" choice. */
export function UnionField({ path, label, schema, value, onChange, optional = false }: { path: string; label: string; schema: JsonSchema; value: Obj | undefined; onChange: (v: Obj | undefined) => void; optional?: boolean }) {
  const variants = schema.oneOf ?? schema.anyOf ?? [];
  const current = variants.find((v) => variantName(v) === value?.type);
  return (
    <fieldset class="union">
      <legend>{label}</legend>
      <label class="field">
        <span class="field-name">type</span>
        <select name={`${path}.type`} value={current ? variantName(current) : ""} onChange={(e) => onChange(e.currentTarget.value === "" ? undefined : { type: e.currentTarget.value })}>
          {(optional || !current) && <option value="">{optional ? "none" : "—"}</option>}
          {variants.map((v) => (
            <option key={variantName(v)} value={variantName(v)}>
              {variantName(v)}
            </option>
          ))}
        </select>
        {current?.description && <small class="hint">{current.description}</small>}
      </label>
      {current && value && <ObjectFields path={path} schema={current} value={value} onChange={(v) => onChange({ ...v, type: value.type })} skip={["type"]} />}
    </fieldset>
  );
}
