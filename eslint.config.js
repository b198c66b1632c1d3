// ESLint 9 flat config: @eslint/js and typescript-eslint recommended, syntactic rules only. The type-checked variants
// build a full TypeScript program on every run, too slow for CI on 2 cores; `npm run typecheck` covers the types.
import js from "@eslint/js";
import globals from "globals";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  { ignores: ["node_modules/", "src/db/generated/**", "native/**/build/**", "web/dist/**", "tests/output/**"] },
  {
    files: ["src/**/*.{ts,mjs}", "workers/**/*.ts", "tests/**/*.{ts,mjs}", "benchmarks/**/*.ts", "scripts/**/*.{ts,mjs}", "*.{js,mjs,cjs}", "*.config.ts"],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: { globals: globals.node },
    rules: {
      // A leading `_` marks what is discarded on purpose: `{ finished_seq: _, ...t }`, `{ type: _type, ...train }`,
      // interface parameters an implementation does not need (`apply(x, _ctx)`).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      // Types are imported with `import type` / `type X` (they vanish at run time: no module is loaded for a type).
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
    },
  },
  {
    // The dashboard (web/src/): browser code, built by Vite; its config file (web/vite.config.ts) runs in Node.
    files: ["web/src/**/*.{ts,tsx}", "web/vite.config.ts"],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: { globals: globals.browser },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
    },
  },
  {
    // Plain JavaScript (scripts/*.mjs, thread boot, config files): no TypeScript checks them, so undefined names matter.
    files: ["**/*.{js,mjs,cjs}"],
    rules: { "no-undef": "error" },
  },
  {
    // Tests read JSON responses as `any` (`(await res.json()) as any`): the assertions are the type check.
    files: ["tests/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
