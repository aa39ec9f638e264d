// The per-batch values every training kernel may read (written once per batch by
// host/src/gpu/trainer.rs, `StepValues`): the loss scale of this batch, its index in the
// epoch, and the optimiser's scalars of this step.
struct Step {
    // 1 / (sum of the batch's mean weights), or 1 / (rows * outputs) for per-element losses
    scale: f32,
    // 0-based batch of the epoch (the non-finite status records the first one)
    batch: u32,
    lr: f32,
    // Adam: lr / (1 - b1^t), sqrt(1 - b2^t), AdamW's 1 - lr wd; AdaGrad: the decayed rate
    step_size: f32,
    bc2_sqrt: f32,
    shrink: f32,
    clr: f32,
    // SGD: 1 on the first step (the momentum buffer starts at the gradient)
    first: u32,
}

// IEEE infinity or NaN
fn non_finite(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u;
}

// no batch of this epoch has failed yet
const OK: u32 = 0xffffffffu;
