/**
 * NumPy `.npy` files (format versions 1–3): the magic `\x93NUMPY`, a version, a header length, then a Python
 * dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 3), }` padded with spaces, then the data.
 * Read here: float32 and float64 (either byte order) for vectors, uint8 for images; C order only.
 */
import { DatasetInvalid } from "./errors.js";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export type NpyDtype = "float32" | "float64" | "uint8";

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  /** The values, in C order: float64 for float arrays (float32 widened), bytes for uint8. */
  data: Float64Array | Uint8Array;
}

export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((m, i) => bytes[i] === m);
}

const DTYPES: Record<string, { dtype: NpyDtype; size: number; little: boolean }> = {
  "<f4": { dtype: "float32", size: 4, little: true },
  ">f4": { dtype: "float32", size: 4, little: false },
  "<f8": { dtype: "float64", size: 8, little: true },
  ">f8": { dtype: "float64", size: 8, little: false },
  "|u1": { dtype: "uint8", size: 1, little: true },
  "<u1": { dtype: "uint8", size: 1, little: true },
  ">u1": { dtype: "uint8", size: 1, little: true },
};

export function parseNpy(bytes: Uint8Array): NpyArray {
  if (!isNpy(bytes)) throw new DatasetInvalid("not a .npy file: it does not start with the magic \\x93NUMPY");
  if (bytes.length < 10) throw new DatasetInvalid(".npy header: the file ends inside the header (byte offset 10)");
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new DatasetInvalid(`.npy header: unknown format version ${major}.${bytes[7]} at byte offset 6`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw new DatasetInvalid(".npy header: the file ends inside the header length (byte offset 8)");
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenBytes;
  if (bytes.length < start + headerLength) throw new DatasetInvalid(`.npy header: the header claims ${headerLength} bytes but the file has ${bytes.length - start} after byte offset ${start}`);
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new DatasetInvalid(`.npy header: expected 'descr', 'fortran_order' and 'shape', got ${JSON.stringify(header.trim().slice(0, 120))}`);
  const type = DTYPES[descr];
  if (!type) throw new DatasetInvalid(`.npy header: dtype '${descr}' is not supported (float32 '<f4', float64 '<f8', uint8 '|u1')`);
  if (fortran === "True") throw new DatasetInvalid(".npy header: fortran_order arrays are not supported; save the array in C order (numpy.ascontiguousarray)");
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (shape.some((n) => !Number.isSafeInteger(n))) throw new DatasetInvalid(`.npy header: shape (${shapeText}) is not a tuple of integers`);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLength;
  const expected = count * type.size;
  if (bytes.length - dataStart !== expected) {
    throw new DatasetInvalid(`.npy data: shape (${shape.join(", ")}) of ${type.dtype} needs ${expected} bytes after the header (byte offset ${dataStart}), the file has ${bytes.length - dataStart}`);
  }
  if (type.dtype === "uint8") return { dtype: "uint8", shape, data: bytes.slice(dataStart) };
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = type.size === 4 ? view.getFloat32(dataStart + 4 * i, type.little) : view.getFloat64(dataStart + 8 * i, type.little);
  return { dtype: type.dtype, shape, data };
}
