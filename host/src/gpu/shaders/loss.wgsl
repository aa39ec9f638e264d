// Losses on a batch of model outputs [rows][k]: `per_sample` writes each row's loss and its
// gradient times the batch's scale (so the gradients that follow are the mean's), `total`
// adds the rows' losses into the epoch's history and flags a non-finite batch. The
// formulas are the core's (`core/src/loss/`). `kind`: 0 cross-entropy (class weights,
// label smoothing `a`), 1 NLL (class weights), 2 MSE, 3 MAE, 4 Huber (delta `a`),
// 5 BCE with logits (`pos_weight` in `weight`: one per output, or one for all), 6 quantile
// (tau `a`), 7 Tukey (c `a`), 8 Barron (alpha `a`, c `b`).

struct LossP {
    rows: u32,
    k: u32,
    kind: u32,
    // 1: class weights in `weight`
    weighted: u32,
    a: f32,
    b: f32,
    // entries of `weight` (BCE's pos_weight: 1 or k)
    weights: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: LossP;
@group(0) @binding(1) var<storage, read> out: array<f32>;
// class targets: one index per row (as f32); value targets: k per row
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> dout: array<f32>;
@group(0) @binding(5) var<storage, read_write> sample_loss: array<f32>;
@group(0) @binding(6) var<uniform> step: Step;
@group(0) @binding(7) var<storage, read_write> history: array<f32>;
@group(0) @binding(8) var<storage, read_write> status: array<atomic<u32>>;

fn class_weight(c: u32) -> f32 {
    if (p.weighted != 0u) {
        return weight[c];
    }
    return 1.0;
}

fn sign_of(v: f32) -> f32 {
    if (v > 0.0) {
        return 1.0;
    }
    if (v < 0.0) {
        return -1.0;
    }
    return 0.0;
}

fn log1p_s(v: f32) -> f32 {
    let u = 1.0 + v;
    if (u == 1.0) {
        return v;
    }
    return log(u) * (v / (u - 1.0));
}

fn sigmoid(v: f32) -> f32 {
    if (v >= 0.0) {
        return 1.0 / (1.0 + exp(-v));
    }
    let e = exp(v);
    return e / (1.0 + e);
}

fn pos_weight(c: u32) -> f32 {
    if (p.weighted == 0u) {
        return 1.0;
    }
    if (p.weights == 1u) {
        return weight[0];
    }
    return weight[c];
}

// (loss, gradient) of element c: prediction x, target t
fn element(c: u32, x: f32, t: f32) -> vec2<f32> {
    let d = x - t;
    switch p.kind {
        case 2u: { return vec2<f32>(d * d, 2.0 * d); }
        case 3u: { return vec2<f32>(abs(d), sign_of(d)); }
        case 4u: {
            if (abs(d) < p.a) {
                return vec2<f32>(0.5 * d * d, d);
            }
            return vec2<f32>(p.a * (abs(d) - 0.5 * p.a), p.a * sign_of(d));
        }
        case 5u: {
            let pw = pos_weight(c);
            let softplus_neg = log1p_s(exp(-abs(x))) + max(-x, 0.0);
            let lw = 1.0 + (pw - 1.0) * t;
            return vec2<f32>((1.0 - t) * x + lw * softplus_neg, sigmoid(x) * lw - pw * t);
        }
        case 7u: {
            let r = t - x;
            let c2_6 = p.a * p.a / 6.0;
            if (abs(r) <= p.a) {
                let u = r / p.a;
                let w = 1.0 - u * u;
                return vec2<f32>(c2_6 * (1.0 - w * w * w), -r * w * w);
            }
            return vec2<f32>(c2_6, 0.0);
        }
        case 8u: {
            let z = d / p.b;
            let z2 = z * z;
            var rho: vec2<f32>;
            if (p.a == 2.0) {
                rho = vec2<f32>(0.5 * z2, z);
            } else if (p.a == 0.0) {
                let q = 0.5 * z2 + 1.0;
                rho = vec2<f32>(log(q), z / q);
            } else if (p.a < -3.4e38) {
                let e = exp(-0.5 * z2);
                rho = vec2<f32>(1.0 - e, z * e);
            } else {
                let bb = abs(p.a - 2.0);
                let q = z2 / bb + 1.0;
                rho = vec2<f32>(bb / p.a * (pow(q, 0.5 * p.a) - 1.0), z * pow(q, 0.5 * p.a - 1.0));
            }
            return vec2<f32>(rho.x, rho.y / p.b);
        }
        default: {
            let r = t - x;
            if (r > 0.0) {
                return vec2<f32>(p.a * r, -p.a);
            }
            return vec2<f32>((p.a - 1.0) * r, 1.0 - p.a);
        }
    }
}

@compute @workgroup_size(64)
fn per_sample(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let r = gid.x + gid.y * groups.x * 64u;
    if (r >= p.rows) {
        return;
    }
    let base = r * p.k;
    var loss = 0.0;
    if (p.kind == 0u) {
        let y = u32(targets[r]);
        var m = out[base];
        for (var c = 1u; c < p.k; c++) {
            m = max(m, out[base + c]);
        }
        var sum = 0.0;
        for (var c = 0u; c < p.k; c++) {
            sum += exp(out[base + c] - m);
        }
        let lse = m + log(sum);
        let eps = p.a;
        let wy = class_weight(y);
        var smoothed = 0.0;
        var wsum = 0.0;
        for (var c = 0u; c < p.k; c++) {
            let wc = class_weight(c);
            smoothed -= wc * (out[base + c] - lse);
            wsum += wc;
        }
        let classes = f32(p.k);
        for (var c = 0u; c < p.k; c++) {
            let prob = exp(out[base + c] - lse);
            let onehot = select(0.0, 1.0, c == y);
            let g = (1.0 - eps) * wy * (prob - onehot) + eps / classes * (wsum * prob - class_weight(c));
            dout[base + c] = g * step.scale;
        }
        loss = (1.0 - eps) * (-wy * (out[base + y] - lse)) + eps / classes * smoothed;
    } else if (p.kind == 1u) {
        let y = u32(targets[r]);
        let wy = class_weight(y);
        for (var c = 0u; c < p.k; c++) {
            dout[base + c] = select(0.0, -wy, c == y) * step.scale;
        }
        loss = -wy * out[base + y];
    } else {
        for (var c = 0u; c < p.k; c++) {
            let lg = element(c, out[base + c], targets[base + c]);
            loss += lg.x;
            dout[base + c] = lg.y * step.scale;
        }
    }
    sample_loss[r] = loss;
}

var<workgroup> partial: array<f32, 256>;

// one workgroup: history[batch] = scale * sum of the rows' losses
@compute @workgroup_size(256)
fn total(@builtin(local_invocation_index) t: u32) {
    var acc = 0.0;
    for (var r = t; r < p.rows; r += 256u) {
        acc += sample_loss[r];
    }
    partial[t] = acc;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half = half / 2u) {
        if (t < half) {
            partial[t] = partial[t] + partial[t + half];
        }
        workgroupBarrier();
    }
    if (t == 0u) {
        let value = partial[0] * step.scale;
        history[step.batch] = value;
        if (non_finite(value)) {
            atomicMin(&status[0], step.batch);
        }
    }
}
