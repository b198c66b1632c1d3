/** The dataset parsers, their errors (with the place), the identity, the seeded split and the tasks made from datasets. */
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DatasetInvalid, datasetIdOf, parseDataset, splitRows, splitText, type DatasetKind } from "../../src/datasets/index.js";
import { invalidUtf8Offset } from "../../src/datasets/text.js";
import { imageDatasetSplits, textDatasetTask, vectorDatasetSplits } from "../../src/tasks/datasets.js";
import { UNKNOWN_TOKEN } from "../../src/tasks/charlm.js";
import { float32Bytes, float64Bytes, makeCorpus, makeIdxImages, makeNpy, makeVectorsCsv } from "../setup/datasets.js";

const bytes = (s: string) => Buffer.from(s, "utf8");
const fails = (kind: DatasetKind, body: Uint8Array, message: RegExp) => {
  let caught: unknown;
  try {
    parseDataset(kind, body);
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ${message}`).toBeInstanceOf(DatasetInvalid);
  expect((caught as Error).message).toMatch(message);
};

describe("text", () => {
  it("counts characters and the vocabulary (code points, not UTF-16 units)", () => {
    const text = "héllo wörld 🙂 ".repeat(20);
    const parsed = parseDataset("text", bytes(text));
    expect(parsed.stats).toEqual({ format: "utf-8", characters: Array.from(text).length, vocabularySize: new Set(Array.from(text)).size });
  });

  it("refuses bytes that are not UTF-8, naming the byte offset", () => {
    const good = bytes("a".repeat(300));
    const bad = Buffer.concat([good.subarray(0, 123), Buffer.from([0xc3, 0x28]), good.subarray(123)]);
    fails("text", bad, /not UTF-8: invalid byte sequence at byte offset 123/);
    // Overlong forms, surrogates and truncated sequences too, as TextDecoder's fatal mode would.
    expect(invalidUtf8Offset(Buffer.from([0x61, 0xc0, 0x80]))).toBe(1);
    expect(invalidUtf8Offset(Buffer.from([0x61, 0x62, 0xed, 0xa0, 0x80]))).toBe(2);
    expect(invalidUtf8Offset(Buffer.from([0xe2, 0x82]))).toBe(0);
    expect(invalidUtf8Offset(bytes("ok € 🙂"))).toBe(-1);
  });

  it("refuses an empty file and one too short to split", () => {
    fails("text", Buffer.alloc(0), /empty/);
    fails("text", bytes("short"), /too few characters to split.*5, at least 200/);
  });
});

describe("vectors", () => {
  it("reads CSV with a header: rows, dimension, mean and std per column", () => {
    const parsed = parseDataset("vectors", bytes("a,b\n1,10\n2,20\n3,30\n4,40\n5,50\n6,60\n7,70\n8,80\n9,90\n10,100\n"));
    expect(parsed.stats).toMatchObject({ format: "csv", rows: 10, dimension: 2, columns: ["a", "b"], mean: [5.5, 55] });
    expect((parsed.stats as { std: number[] }).std[1]).toBeCloseTo(Math.sqrt(825), 9);
  });

  it("names the line of a ragged row and the row and column of NaN or infinity", () => {
    const rows = Array.from({ length: 12 }, (_, i) => `${i},${i * 2}`);
    fails("vectors", bytes(["x,y", ...rows.slice(0, 4), "1,2,3", ...rows.slice(4)].join("\n")), /ragged rows: line 6 has 3 values, the header \(line 1\) has 2/);
    fails("vectors", bytes([...rows.slice(0, 3), "4", ...rows].join("\n")), /ragged rows: line 4 has 1 values, the first row \(line 1\) has 2/);
    fails("vectors", bytes([...rows.slice(0, 6), "1,NaN", ...rows].join("\n")), /line 7, column 2: NaN is not a finite number/);
    fails("vectors", bytes([...rows.slice(0, 2), "-inf,1", ...rows].join("\n")), /line 3, column 1: -inf is not a finite number/);
    fails("vectors", bytes([...rows.slice(0, 2), "1,abc", ...rows].join("\n")), /line 3, column 2: "abc" is not a number/);
    fails("vectors", bytes([...rows.slice(0, 2), "1,1e999", ...rows].join("\n")), /line 3, column 2: 1e999 overflows/);
  });

  it("refuses an empty file, a header without rows and too few rows to split", () => {
    fails("vectors", Buffer.alloc(0), /empty/);
    fails("vectors", bytes("x,y\n"), /header line and no rows/);
    fails("vectors", bytes("1,2\n3,4\n5,6\n"), /too few rows to split.*3, at least 10/);
  });

  it("reads .npy float32 and float64, (n,) and (n, d), and names a bad header or dtype", () => {
    const values = Array.from({ length: 24 }, (_, i) => i / 4);
    const f8 = parseDataset("vectors", makeNpy("<f8", [12, 2], float64Bytes(values)));
    expect(f8.stats).toMatchObject({ format: "npy", rows: 12, dimension: 2, columns: null });
    const f4 = parseDataset("vectors", makeNpy("<f4", [24], float32Bytes(values)));
    expect(f4.stats).toMatchObject({ rows: 24, dimension: 1 });
    fails("vectors", makeNpy("<f8", [12, 2], float64Bytes(values.slice(0, 20))), /shape \(12, 2\) of float64 needs 192 bytes/);
    fails("vectors", makeNpy("<i8", [12, 2], float64Bytes(values)), /dtype '<i8' is not supported/);
    fails("vectors", makeNpy("<f8", [12, 2], float64Bytes(values), "{'descr': '<f8', 'fortran_order': True, 'shape': (12, 2), }"), /fortran_order/);
    fails("vectors", makeNpy("<f8", [12, 2], float64Bytes(values), "{'nonsense': 1}"), /expected 'descr', 'fortran_order' and 'shape'/);
    const withNan = [...values];
    withNan[7] = NaN;
    fails("vectors", makeNpy("<f8", [12, 2], float64Bytes(withNan)), /row 4, column 2: NaN is not a finite number/);
    fails("vectors", makeNpy("|u1", [12, 2], Buffer.alloc(24)), /uint8 is for images/);
  });
});

describe("images", () => {
  it("reads IDX 3-D and 2-D and .npy uint8: count and shape", () => {
    expect(parseDataset("images", makeIdxImages(1, 20, 6, 5)).stats).toMatchObject({ format: "idx", count: 20, shape: [6, 5] });
    const twoD = Buffer.concat([Buffer.from([0, 0, 8, 2, 0, 0, 0, 12, 0, 0, 0, 9]), Buffer.alloc(108, 7)]);
    expect(parseDataset("images", twoD).stats).toMatchObject({ count: 12, shape: [1, 9], meanPixel: 7 });
    expect(parseDataset("images", makeNpy("|u1", [10, 4, 4], Buffer.alloc(160, 3))).stats).toMatchObject({ format: "npy", count: 10, shape: [4, 4] });
  });

  it("names a wrong magic number, a wrong type, a truncated file and too few images", () => {
    fails("images", Buffer.from([1, 2, 8, 3, 0, 0, 0, 0]), /wrong IDX magic number 0x01020803 at byte offset 0/);
    fails("images", Buffer.from([0, 0, 0x0d, 3, 0, 0, 0, 0]), /data type 0x0d \(float\) at byte offset 2/);
    fails("images", Buffer.from([0, 0, 8, 4, 0, 0, 0, 0]), /4 dimensions at byte offset 3/);
    fails("images", makeIdxImages(1, 20, 6, 5).subarray(0, 300), /dimensions 20 × 6 × 5 need 600 bytes/);
    fails("images", makeIdxImages(1, 5, 6, 5), /too few images to split.*5, at least 10/);
    fails("images", Buffer.alloc(0), /empty/);
    fails("images", makeNpy("<f4", [10, 2, 2], float32Bytes(new Array(40).fill(0))), /dtype float32; images are uint8/);
  });
});

describe("identity and split", () => {
  it("the id is the content's and the kind's", () => {
    const body = bytes(makeCorpus(1));
    expect(datasetIdOf("text", body)).toMatch(/^ds_[0-9a-f]{20}$/);
    expect(datasetIdOf("text", body)).toBe(datasetIdOf("text", Buffer.from(body)));
    expect(datasetIdOf("vectors", body)).not.toBe(datasetIdOf("text", body));
  });

  it("splits rows 80/10/10 by seed, deterministically and disjointly", () => {
    const a = splitRows(1000, 7);
    expect([a.train.length, a.val.length, a.test.length]).toEqual([800, 100, 100]);
    expect(new Set([...a.train, ...a.val, ...a.test]).size).toBe(1000);
    expect(splitRows(1000, 7)).toEqual(a);
    expect(splitRows(1000, 8).test).not.toEqual(a.test);
    expect(() => splitRows(9, 1)).toThrow(/too few rows/);
  });

  it("splits text into 20 blocks dealt by seed, each split in file order", () => {
    const s = splitText(2000, 3);
    expect([s.train.length, s.val.length, s.test.length]).toEqual([16, 2, 2]);
    const all = [...s.train, ...s.val, ...s.test].sort((x, y) => x[0] - y[0]);
    expect(all[0]![0]).toBe(0);
    expect(all.at(-1)![1]).toBe(2000);
    for (const part of [s.train, s.val, s.test]) for (let i = 1; i < part.length; i++) expect(part[i]![0]).toBeGreaterThan(part[i - 1]![0]);
    expect(splitText(2000, 4)).not.toEqual(s);
  });
});

describe("tasks made from datasets", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "nas-datasets-test-"));
  const source = (kind: DatasetKind, body: Uint8Array, splitSeed = 1) => {
    const id = datasetIdOf(kind, body);
    const file = path.join(dir, `${id}.${kind}`);
    writeFileSync(file, body);
    return { id, kind, sha256: `sha-${id}`, path: file, splitSeed };
  };

  it("text: the vocabulary comes from the training split, other characters map to <unk>, the id is the dataset's", () => {
    // Characters only in one block: wherever the seed deals it, if it is held out its characters are unknown.
    const blocks = Array.from({ length: 20 }, (_, i) => (i === 19 ? "Ω".repeat(100) : "ab c".repeat(25)));
    const src = source("text", bytes(blocks.join("")), 5);
    const task = textDatasetTask(src);
    expect(task.id).toBe(`charlm:${src.id}`);
    expect(task.datasetSha256).toBe(src.sha256);
    expect(task.unknown).toEqual({ token: UNKNOWN_TOKEN, index: task.vocabSize - 1 });
    expect(task.vocabulary.at(-1)).toBe(UNKNOWN_TOKEN);
    expect(task.train.length + task.val.length + task.test!.length).toBe(2000);
    const heldOut = [...task.val, ...task.test!];
    if (task.chars.includes("Ω")) expect(heldOut.includes(task.unknown!.index)).toBe(false);
    else expect(heldOut.filter((t) => t === task.unknown!.index)).toHaveLength(100);
    expect(task.encode("aΩ?")).toEqual([task.chars.indexOf("a"), ...(task.chars.includes("Ω") ? [task.chars.indexOf("Ω")] : [task.unknown!.index]), task.unknown!.index]);
    expect(task.decode([task.unknown!.index])).toBe(UNKNOWN_TOKEN);
  });

  it("vectors: standardised with the training split's statistics; the log-det brings NLLs back to data units", () => {
    const { csv } = makeVectorsCsv(2, { rows: 200, dim: 3 });
    const v = vectorDatasetSplits(source("vectors", bytes(csv), 9));
    expect(v.id).toMatch(/^vectors:ds_/);
    expect(v.train.length / 3 + v.val.length / 3 + v.test.length / 3).toBe(200);
    let m = 0;
    for (let i = 0; i < v.train.length; i += 3) m += v.train[i]!;
    expect(m / (v.train.length / 3)).toBeCloseTo(0, 4);
    expect(v.mean[0]).toBeGreaterThan(90);
    expect(v.logStdSum).toBeCloseTo(v.std.reduce((s, x) => s + Math.log(x), 0), 12);
  });

  it("images: pixels of each split, the shape kept", () => {
    const im = imageDatasetSplits(source("images", makeIdxImages(3, 30, 4, 4)));
    expect(im).toMatchObject({ height: 4, width: 4, dim: 16 });
    expect([im.train.length, im.val.length, im.test.length]).toEqual([24 * 16, 3 * 16, 3 * 16]);
  });
});
