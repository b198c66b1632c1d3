/**
 * FLOPs and parameters of a NAS-Bench-201 network, from its cell alone: the macro skeleton of the benchmark's CIFAR
 * network (Dong & Yang 2020, §2.1 and its code's TinyNetwork/InferCell) with the cell repeated in every stage.
 *
 *   stem:  3×3 conv 3→16 (no bias) + BatchNorm, on 32×32
 *   stage 1: 5 cells, 16 channels, 32×32
 *   reduction: ResNet basic block 16→32, stride 2 (ReLU-conv3×3-BN, ReLU-conv3×3-BN; shortcut 2×2 avg-pool + 1×1 conv)
 *   stage 2: 5 cells, 32 channels, 16×16
 *   reduction: basic block 32→64, stride 2
 *   stage 3: 5 cells, 64 channels, 8×8
 *   head: BatchNorm + ReLU, global average pooling, linear 64→10 (with bias)
 *
 * A cell's edges keep its channel count C and resolution: `nor_conv_k×k` is ReLU-conv(k×k, C→C, no bias)-BatchNorm
 * (k²·C² + 2C parameters, k²·C²·H·W multiply–adds), `avg_pool_3x3`, `skip_connect` and `none` have no parameters.
 *
 * FLOPs are counted as the benchmark's own counter counts them (xautodl's get_model_infos): one per multiply–add of
 * the convolutions and the linear layer (its bias included), pooling, BatchNorm and ReLU not counted, for one 32×32
 * image. Parameters are every trainable scalar, BatchNorm's scale and shift included. The benchmark reports both in
 * millions (MFLOPs, "MB"); here they are plain counts. With this rule the cheapest cells (no convolution) cost
 * 7,783,050 FLOPs and 73,306 parameters, and the all-3×3 cell 220,119,690 FLOPs and 1,531,546 parameters.
 */
import type { Architecture } from "./definition.js";
import { NB201_EDGES } from "./nasbench201.js";

const CELLS_PER_STAGE = 5;
const STAGES = [
  { channels: 16, side: 32 },
  { channels: 32, side: 16 },
  { channels: 64, side: 8 },
] as const;
const INPUT_CHANNELS = 3;
const CLASSES = 10;

export interface Nb201Cost {
  flops: number;
  params: number;
}

/** A ReLU-conv-BN block: k×k conv cIn→cOut without bias, then BatchNorm's scale and shift; its output is side×side. */
function convBn(k: number, cIn: number, cOut: number, side: number): Nb201Cost {
  const weights = k * k * cIn * cOut;
  return { params: weights + 2 * cOut, flops: weights * side * side };
}

/** One edge of a cell with C channels on a side×side map. */
function edgeCost(op: string, channels: number, side: number): Nb201Cost {
  switch (op) {
    case "nor_conv_3x3":
      return convBn(3, channels, channels, side);
    case "nor_conv_1x1":
      return convBn(1, channels, channels, side);
    case "avg_pool_3x3":
    case "skip_connect":
    case "none":
      return { params: 0, flops: 0 };
    default:
      throw new RangeError(`not a NAS-Bench-201 operation: '${op}'`);
  }
}

/** The stride-2 ResNet basic block between two stages; `side` is its output's. */
function reductionCost(cIn: number, cOut: number, side: number): Nb201Cost {
  const a = convBn(3, cIn, cOut, side);
  const b = convBn(3, cOut, cOut, side);
  const shortcut = cIn * cOut; // 1×1 conv without bias after a 2×2 average pooling (not counted)
  return { params: a.params + b.params + shortcut, flops: a.flops + b.flops + shortcut * side * side };
}

/** FLOPs (multiply–adds for one 32×32 image) and parameters of the network built from `cell`. */
export function nb201Cost(cell: Architecture): Nb201Cost {
  let params = 0;
  let flops = 0;
  const add = (c: Nb201Cost, times = 1) => {
    params += c.params * times;
    flops += c.flops * times;
  };
  add(convBn(3, INPUT_CHANNELS, STAGES[0].channels, STAGES[0].side)); // stem (conv + BN, no ReLU before: same count)
  STAGES.forEach((stage, s) => {
    if (s > 0) add(reductionCost(STAGES[s - 1]!.channels, stage.channels, stage.side));
    for (const edge of NB201_EDGES) add(edgeCost(String(cell[edge]), stage.channels, stage.side), CELLS_PER_STAGE);
  });
  const last = STAGES[STAGES.length - 1]!.channels;
  params += 2 * last; // the head's BatchNorm
  params += last * CLASSES + CLASSES;
  flops += last * CLASSES + CLASSES;
  return { flops, params };
}
