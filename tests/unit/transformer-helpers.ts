/** Shared pieces of the Transformer tests: the wasm backend and small architectures. */
import { expect } from "vitest";
import { initBackend } from "../../src/models/backend.js";
import type { TransformerArchitecture, LayerSpec } from "../../src/models/transformer/index.js";

export async function useWasm(): Promise<void> {
  expect(await initBackend({ force: "wasm" })).toBe("wasm");
}

export function tinyArch(overrides: Partial<TransformerArchitecture> = {}, layer: Partial<LayerSpec> = {}): TransformerArchitecture {
  const base: TransformerArchitecture = {
    n_layers: 1,
    d_model: 16,
    n_heads: 2,
    ff_mult: 2,
    positions: "learned",
    norm: "pre_ln",
    dropout: 0,
    layers: [],
    ...overrides,
  };
  const spec: LayerSpec = { attention: "full", activation: "gelu", ...layer };
  return { ...base, layers: overrides.layers ?? Array.from({ length: base.n_layers }, () => ({ ...spec })) };
}
