// `node --import ./tests/setup/record-imports.mjs …` with RECORD_IMPORTS=<file>: appends the URL of every module the
// process resolves to that file, one per line, so a test can say what a process loaded (e.g. that the API loads no
// tfjs). Resolve hooks run off the main thread; appendFileSync keeps every line.
import { register } from "node:module";

if (process.env.RECORD_IMPORTS) {
  register(
    "data:text/javascript," +
      encodeURIComponent(`
        import { appendFileSync } from "node:fs";
        const file = ${JSON.stringify(process.env.RECORD_IMPORTS)};
        export async function resolve(specifier, context, next) {
          const result = await next(specifier, context);
          appendFileSync(file, result.url + "\\n");
          return result;
        }`),
    import.meta.url,
  );
}
