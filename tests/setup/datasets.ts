/** Small generated datasets for the dataset tests (a corpus, vectors, images) and an upload helper over HTTP. */
import { Rng } from "../../src/core/rng.js";

/** A corpus the service has never seen: sentences drawn from a small made-up vocabulary, with a seed. */
export function makeCorpus(seed: number, sentences = 400): string {
  const rng = new Rng(seed);
  const words = ["zorb", "quill", "mave", "tunder", "plix", "oru", "vesk", "nimble", "ka", "drov", "sil", "ep"];
  const out: string[] = [];
  for (let s = 0; s < sentences; s++) {
    const n = 3 + rng.int(6);
    const sentence = Array.from({ length: n }, () => rng.pick(words)).join(" ");
    out.push(`${sentence[0]!.toUpperCase()}${sentence.slice(1)}${rng.next() < 0.2 ? "?" : "."}`);
  }
  return out.join(" ") + "\n";
}

/** Rows of a `dim`-dimensional Gaussian mixture far from the origin (so units matter), as CSV with a header. */
export function makeVectorsCsv(seed: number, opts: { rows: number; dim: number }): { csv: string; rows: number[][] } {
  const rng = new Rng(seed);
  const rows = Array.from({ length: opts.rows }, () => {
    const mode = rng.int(2);
    return Array.from({ length: opts.dim }, (_, d) => 100 + 10 * d + (mode ? 3 : -3) + rng.normal() * (1 + d / 2));
  });
  const header = Array.from({ length: opts.dim }, (_, d) => `x${d}`).join(",");
  return { csv: [header, ...rows.map((r) => r.map((v) => v.toFixed(6)).join(","))].join("\n") + "\n", rows };
}

/** An IDX file of `count` unsigned-byte images of height × width (magic 0x00000803). */
export function makeIdxImages(seed: number, count: number, height: number, width: number): Buffer {
  const rng = new Rng(seed);
  const header = Buffer.alloc(16);
  header.writeUInt32BE(0x00000803, 0);
  header.writeUInt32BE(count, 4);
  header.writeUInt32BE(height, 8);
  header.writeUInt32BE(width, 12);
  const pixels = Buffer.alloc(count * height * width);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.next() < 0.3 ? 200 + rng.int(56) : rng.int(20);
  return Buffer.concat([header, pixels]);
}

/** A .npy file (format 1.0) of `data` with `descr` ('<f4', '<f8', '|u1') and `shape`. */
export function makeNpy(descr: string, shape: number[], data: Buffer, header?: string): Buffer {
  let dict = header ?? `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  const total = 10 + dict.length + 1;
  dict += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const pre = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(pre);
  pre.writeUInt16LE(dict.length, 8);
  return Buffer.concat([pre, Buffer.from(dict, "latin1"), data]);
}

export function float64Bytes(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeDoubleLE(v, i * 8));
  return b;
}

export function float32Bytes(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
}

/** Uploads `body` over HTTP (the cluster's key) and returns the dataset's JSON; throws with the answer if not 200/201. */
export async function uploadDataset(
  cluster: { fetch(url: string, init?: RequestInit): Promise<Response> },
  opts: { kind: "text" | "vectors" | "images"; name: string; body: string | Uint8Array },
): Promise<any> {
  const res = await cluster.fetch(`/v1/datasets?kind=${opts.kind}&name=${encodeURIComponent(opts.name)}`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: (typeof opts.body === "string" ? Buffer.from(opts.body, "utf8") : Buffer.from(opts.body)) as unknown as BodyInit,
  });
  const json = await res.json();
  if (res.status !== 201 && res.status !== 200) throw new Error(`upload: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
