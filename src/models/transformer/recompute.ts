/**
 * Activation recomputation ("gradient checkpointing": Chen et al. 2016, "Training Deep Nets with Sublinear Memory
 * Cost"; the memory saver of "How to Train Really Large Models on Many GPUs"): a block's forward pass keeps only
 * its input, and the backward pass runs the block again, under a tape, to get its vector–Jacobian product. Memory
 * for activations drops from every intermediate of every block to the blocks' inputs plus one block's
 * intermediates; the price is a second forward pass of every block (about a third more compute per step).
 *
 * How: `tf.customGrad` around the block. Its forward runs inside a kernel scope, where tfjs records no tape and
 * frees every intermediate when the block returns; only the input is saved. Its gradient function recomputes the
 * block with `engine.gradients` over (input, the block's variables), seeded with the incoming dy. The block's
 * variables are inputs of the custom op, so that the outer tape routes their gradients through it.
 *
 * A tfjs engine workaround lives here: `engine.gradients` run inside another gradient's backward pass replaces the
 * engine's active tape and sets it to null when it finishes, after which the outer backward pass crashes (it
 * disposes its saved tensors through that tape). The inner call is therefore bracketed by saving and restoring
 * `engine.state.activeTape`.
 *
 * An auxiliary scalar of the block (a mixture of experts' load-balancing loss) must reach the loss through the
 * custom op too, and a custom op has one output: the block's [N, d] output and the scalar travel packed in one
 * vector [N·d + 1] and are sliced apart after it.
 *
 * Shapes: N rows (B·T tokens), d = d_model.
 */
import * as tf from "@tensorflow/tfjs-core";

/** tf.customGrad's parameter type (its inputs are typed as Tensor | GradSaveFunc, which no real function matches). */
type CustomGradient = Parameters<typeof tf.customGrad>[0];

/** The part of tfjs's engine that recomputation needs (not in its public typings). */
interface EngineInternals {
  state: { activeTape: unknown };
  gradients(f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean): { value: tf.Tensor; grads: Array<tf.Tensor | undefined> };
}

/** What a recomputed block returns: its output and, where it has one, an auxiliary loss. */
export interface BlockOutput {
  y: tf.Tensor2D;
  aux?: tf.Scalar;
}

/**
 * Runs `block(x, false)` keeping only x for the backward pass, which runs `block(x, true)` again. `variables`: every trainable
 * variable the block reads (those not listed get no gradient). `withAux`: the block may return an auxiliary loss,
 * which comes out differentiable (0 when the block returned none). `block` must compute the same function both
 * times (deterministic kernels, dropout masks from fixed seeds, routing from the same probabilities).
 * x: [N, d] → y [N, d] (+ aux []).
 */
export function recomputed(block: (x: tf.Tensor2D, recomputing: boolean) => BlockOutput, x: tf.Tensor2D, variables: readonly tf.Variable[], withAux: boolean): BlockOutput {
  const [N, d] = x.shape;
  const packed = (input: tf.Tensor2D, recomputing: boolean): tf.Tensor1D => {
    const { y, aux } = block(input, recomputing);
    const flat = tf.reshape(y, [N * d]) as tf.Tensor1D; // [N·d]
    return withAux ? (tf.concat([flat, tf.reshape(aux ?? tf.scalar(0), [1])]) as tf.Tensor1D) : flat; // [N·d (+ 1)]
  };
  const op = tf.customGrad(((...args: tf.Tensor[]) => {
    const save = args.pop() as unknown as tf.GradSaveFunc;
    const input = args[0] as tf.Tensor2D;
    save([input]);
    return {
      value: packed(input, false),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const kept = saved[0] as tf.Tensor2D;
        const engine = tf.engine() as unknown as EngineInternals;
        const outerTape = engine.state.activeTape;
        let result: ReturnType<EngineInternals["gradients"]>;
        try {
          result = engine.gradients(() => packed(kept, true), [kept, ...variables], dy, true);
        } finally {
          engine.state.activeTape = outerTape;
        }
        result.value.dispose();
        const sources = [kept, ...variables];
        return result.grads.map((g, i) => g ?? tf.zerosLike(sources[i]!)); // [N, d], then one per variable
      },
    };
  }) as unknown as CustomGradient);
  const out = op(x, ...variables) as tf.Tensor1D; // [N·d (+ 1)]
  const y = tf.reshape(withAux ? tf.slice(out, 0, N * d) : out, [N, d]) as tf.Tensor2D;
  return withAux ? { y, aux: tf.reshape(tf.slice(out, N * d, 1), []) as tf.Scalar } : { y };
}
