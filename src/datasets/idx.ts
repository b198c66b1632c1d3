/**
 * IDX files, the format MNIST is distributed in (http://yann.lecun.com/exdb/mnist/): a 4-byte magic
 * `0x00 0x00 <type> <dims>`, then each dimension as a big-endian uint32, then the values in C order. Read here:
 * unsigned bytes (type 0x08) with 2 dimensions (n × d) or 3 (n × height × width), the images' format.
 */
import { DatasetInvalid } from "./errors.js";

export interface IdxImages {
  shape: number[];
  pixels: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = { 0x08: "unsigned byte", 0x09: "signed byte", 0x0b: "short", 0x0c: "int", 0x0d: "float", 0x0e: "double" };

export function parseIdx(bytes: Uint8Array): IdxImages {
  if (bytes.length < 4) throw new DatasetInvalid(`not an IDX file: ${bytes.length} bytes, shorter than the 4-byte magic number`);
  const hex = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join("");
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new DatasetInvalid(`wrong IDX magic number 0x${hex} at byte offset 0: an IDX file starts with two zero bytes (0x0000TTDD), or give a .npy file`);
  const type = bytes[2]!;
  const dims = bytes[3]!;
  if (type !== 0x08) throw new DatasetInvalid(`wrong IDX magic number 0x${hex}: data type 0x${type.toString(16).padStart(2, "0")} (${TYPE_NAMES[type] ?? "unknown"}) at byte offset 2; images must be unsigned bytes (0x08)`);
  if (dims !== 2 && dims !== 3) throw new DatasetInvalid(`IDX magic number 0x${hex}: ${dims} dimensions at byte offset 3; images need 2 (n × pixels) or 3 (n × height × width)`);
  const headerEnd = 4 + 4 * dims;
  if (bytes.length < headerEnd) throw new DatasetInvalid(`IDX header: the file ends at byte offset ${bytes.length}, inside the ${dims} dimension sizes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - headerEnd !== expected) {
    throw new DatasetInvalid(`IDX data: dimensions ${shape.join(" × ")} need ${expected} bytes after the header (byte offset ${headerEnd}), the file has ${bytes.length - headerEnd}`);
  }
  return { shape, pixels: bytes.slice(headerEnd) };
}
