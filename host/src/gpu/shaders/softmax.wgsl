// Softmax and log-softmax over each row of n values (the last axis), the core's
// `kernel::softmax` formulas, one invocation per row: forward `y = softmax(x)` or
// `x - max - ln(sum exp(x - max))`; backward from the output `y`:
// `dx = y (dy - sum dy y)` or `dx = dy - exp(y) sum dy`.

struct Softmax {
    rows: u32,
    n: u32,
    // 1: log-softmax
    log: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Softmax;
// forward: x; backward: y
@group(0) @binding(1) var<storage, read> src: array<f32>;
// forward: y; backward: dx
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let r = gid.x + gid.y * groups.x * 64u;
    if (r >= p.rows) {
        return;
    }
    let base = r * p.n;
    var m = src[base];
    for (var i = 1u; i < p.n; i++) {
        m = max(m, src[base + i]);
    }
    var s = 0.0;
    for (var i = 0u; i < p.n; i++) {
        s += exp(src[base + i] - m);
    }
    let lse = log(s);
    for (var i = 0u; i < p.n; i++) {
        if (p.log != 0u) {
            dst[base + i] = src[base + i] - m - lse;
        } else {
            dst[base + i] = exp(src[base + i] - m) / s;
        }
    }
}

@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let r = gid.x + gid.y * groups.x * 64u;
    if (r >= p.rows) {
        return;
    }
    let base = r * p.n;
    var s = 0.0;
    for (var i = 0u; i < p.n; i++) {
        if (p.log != 0u) {
            s += dy[base + i];
        } else {
            s += dy[base + i] * src[base + i];
        }
    }
    for (var i = 0u; i < p.n; i++) {
        if (p.log != 0u) {
            dst[base + i] = dy[base + i] - exp(src[base + i]) * s;
        } else {
            dst[base + i] = src[base + i] * (dy[base + i] - s);
        }
    }
}
