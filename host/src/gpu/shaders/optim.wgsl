// Optimiser updates on the device, the core's formulas (`core/src/optim/`): `kind` 0 SGD
// (momentum `a`, dampening `b`, Nesterov), 1 AdaGrad, 2 RMSprop (alpha `a`, momentum `b`,
// centred), 3 Adam/AdamW (betas `a`, `b`; AMSGrad). State slots as the CPU's
// `DynOptimizerState`: SGD s0 = momentum buffer; AdaGrad s0 = sum of squares; RMSprop
// s0 = square average, s1 = gradient average, s2 = momentum buffer; Adam s0 = m, s1 = v,
// s2 = max v. No update runs once a batch of the epoch has failed (`status`), so the model
// keeps its last good step, as on the CPU. `check` flags a non-finite gradient first.

struct Opt {
    n: u32,
    kind: u32,
    // bit 0 Nesterov, bit 1 decoupled weight decay, bit 2 AMSGrad, bit 3 centred
    flags: u32,
    pad: u32,
    wd: f32,
    a: f32,
    b: f32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Opt;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> s0: array<f32>;
@group(0) @binding(4) var<storage, read_write> s1: array<f32>;
@group(0) @binding(5) var<storage, read_write> s2: array<f32>;
@group(0) @binding(6) var<uniform> step: Step;
@group(0) @binding(7) var<storage, read_write> status: array<atomic<u32>>;

fn index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 256u;
}

fn decayed(g: f32, w: f32) -> f32 {
    if (p.wd != 0.0) {
        return g + p.wd * w;
    }
    return g;
}

@compute @workgroup_size(256)
fn check(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i < p.n && non_finite(grad[i])) {
        atomicMin(&status[0], step.batch);
    }
}

@compute @workgroup_size(256)
fn update(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i >= p.n || atomicLoad(&status[0]) != OK) {
        return;
    }
    let g = grad[i];
    var w = param[i];
    switch p.kind {
        case 0u: {
            if (p.a != 0.0) {
                let d = decayed(g, w);
                var b = d;
                if (step.first == 0u) {
                    b = p.a * s0[i] + (1.0 - p.b) * d;
                }
                s0[i] = b;
                var s = b;
                if ((p.flags & 1u) != 0u) {
                    s = d + p.a * b;
                }
                w -= step.lr * s;
            } else {
                w -= step.lr * decayed(g, w);
            }
        }
        case 1u: {
            let d = decayed(g, w);
            let sum = s0[i] + d * d;
            s0[i] = sum;
            w -= step.clr * (d / (sqrt(sum) + p.eps));
        }
        case 2u: {
            let d = decayed(g, w);
            let v = p.a * s0[i] + (1.0 - p.a) * d * d;
            s0[i] = v;
            var centred = v;
            if ((p.flags & 8u) != 0u) {
                let avg = s1[i] + (1.0 - p.a) * (d - s1[i]);
                s1[i] = avg;
                centred = v - avg * avg;
            }
            let denom = sqrt(centred) + p.eps;
            if (p.b > 0.0) {
                let b = p.b * s2[i] + d / denom;
                s2[i] = b;
                w -= step.lr * b;
            } else {
                w -= step.lr * (d / denom);
            }
        }
        default: {
            var d = g;
            if ((p.flags & 2u) != 0u) {
                w *= step.shrink;
            } else {
                d = decayed(g, w);
            }
            let m = s0[i] + (1.0 - p.a) * (d - s0[i]);
            s0[i] = m;
            let v = s1[i] * p.b + (1.0 - p.b) * d * d;
            s1[i] = v;
            var second = v;
            if ((p.flags & 4u) != 0u) {
                second = max(s2[i], v);
                s2[i] = second;
            }
            let denom = sqrt(second) / step.bc2_sqrt + p.eps;
            w -= step.step_size * (m / denom);
        }
    }
    param[i] = w;
}
