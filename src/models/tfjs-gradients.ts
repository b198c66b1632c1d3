/**
 * Registers tfjs's gradient functions. `@tensorflow/tfjs-core`'s Node bundle ships ops and the tape but none of
 * the per-kernel gradients (the `@tensorflow/tfjs` union package registers them, and it is not a dependency), so
 * `tf.grad` fails with "gradient function not found for Sum" until `dist/register_all_gradients.js` is loaded.
 * That file is ES-module source with extensionless relative imports, which Node's ESM resolver refuses, so a
 * tiny resolve hook (node:module `register`) adds the `.js` for imports made from inside tfjs-core's dist. The
 * gradients register in tfjs's global registry and so serve the engine of the Node bundle.
 *
 * Idempotent and cheap after the first call (~1.5 s once: it loads tfjs-core's ES modules).
 */
import { register } from "node:module";
import * as tf from "@tensorflow/tfjs-core";

const HOOK = `
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    const parent = context.parentURL ?? "";
    if (specifier.startsWith(".") && parent.includes("/@tensorflow/tfjs-core/dist/")) {
      try { return await next(specifier + ".js", context); } catch { return next(specifier + "/index.js", context); }
    }
    throw err;
  }
}`;

let loading: Promise<void> | undefined;

export function registerAllGradients(): Promise<void> {
  loading ??= (async () => {
    if (tf.getGradient("Sum") && tf.getGradient("BatchMatMul")) return; // someone (e.g. @tensorflow/tfjs) did it
    register(`data:text/javascript,${encodeURIComponent(HOOK)}`);
    await import("@tensorflow/tfjs-core/dist/register_all_gradients.js" as string);
  })();
  return loading;
}
