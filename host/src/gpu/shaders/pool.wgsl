// Max and average pooling over [B][C][H][W] (the core's `kernel::pool` rules): max keeps
// the first maximum of the row-major window (a NaN wins), padding never chosen; average
// divides the in-bounds sum by KH*KW (count_include_pad). The backward passes gather: each
// input sums, in output order, the outputs whose windows hold it.

struct Pool {
    c: u32, h: u32, w: u32, n: u32,
    kh: u32, kw: u32, sh: u32, sw: u32,
    ph: u32, pw: u32, oh: u32, ow: u32,
}

@group(0) @binding(0) var<uniform> p: Pool;
// forward: x; backward: dy
@group(0) @binding(1) var<storage, read> src: array<f32>;
// forward: y; backward: dx
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
// max pooling: each output's argmax within its input plane
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>;

fn index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 256u;
}

fn is_nan(v: f32) -> bool {
    let bits = bitcast<u32>(v);
    return (bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0u;
}

// first and one-past-last output index along a side whose windows hold input `i`
fn covering(i: u32, k: u32, s: u32, pad: u32, outs: u32) -> vec2<u32> {
    let hi = (i + pad) / s + 1u;
    var lo = 0u;
    if (i + pad + 1u > k) {
        lo = (i + pad + 1u - k + s - 1u) / s;
    }
    return vec2<u32>(lo, min(hi, outs));
}

// n = B*C*OH*OW
@compute @workgroup_size(256)
fn max_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i >= p.n) {
        return;
    }
    let plane = i / (p.oh * p.ow);
    let oh = (i / p.ow) % p.oh;
    let ow = i % p.ow;
    let base = plane * p.h * p.w;
    var m = bitcast<f32>(0xff800000u);
    var best = 0xffffffffu;
    for (var ki = 0u; ki < p.kh; ki++) {
        let ih = i32(oh * p.sh + ki) - i32(p.ph);
        if (ih < 0 || u32(ih) >= p.h) {
            continue;
        }
        for (var kj = 0u; kj < p.kw; kj++) {
            let iw = i32(ow * p.sw + kj) - i32(p.pw);
            if (iw < 0 || u32(iw) >= p.w) {
                continue;
            }
            let at = u32(ih) * p.w + u32(iw);
            let v = src[base + at];
            if (best == 0xffffffffu || v > m || is_nan(v)) {
                m = v;
                best = at;
            }
        }
    }
    dst[i] = m;
    argmax[i] = best;
}

// n = B*C*H*W
@compute @workgroup_size(256)
fn max_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i >= p.n) {
        return;
    }
    let plane = i / (p.h * p.w);
    let ih = (i / p.w) % p.h;
    let iw = i % p.w;
    let at = ih * p.w + iw;
    let rows = covering(ih, p.kh, p.sh, p.ph, p.oh);
    let cols = covering(iw, p.kw, p.sw, p.pw, p.ow);
    var acc = 0.0;
    for (var oh = rows.x; oh < rows.y; oh++) {
        for (var ow = cols.x; ow < cols.y; ow++) {
            let out = (plane * p.oh + oh) * p.ow + ow;
            if (argmax[out] == at) {
                acc += src[out];
            }
        }
    }
    dst[i] = acc;
}

// n = B*C*OH*OW
@compute @workgroup_size(256)
fn avg_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i >= p.n) {
        return;
    }
    let plane = i / (p.oh * p.ow);
    let oh = (i / p.ow) % p.oh;
    let ow = i % p.ow;
    let base = plane * p.h * p.w;
    var acc = 0.0;
    for (var ki = 0u; ki < p.kh; ki++) {
        let ih = i32(oh * p.sh + ki) - i32(p.ph);
        if (ih < 0 || u32(ih) >= p.h) {
            continue;
        }
        for (var kj = 0u; kj < p.kw; kj++) {
            let iw = i32(ow * p.sw + kj) - i32(p.pw);
            if (iw >= 0 && u32(iw) < p.w) {
                acc += src[base + u32(ih) * p.w + u32(iw)];
            }
        }
    }
    dst[i] = acc / f32(p.kh * p.kw);
}

// n = B*C*H*W
@compute @workgroup_size(256)
fn avg_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i >= p.n) {
        return;
    }
    let plane = i / (p.h * p.w);
    let ih = (i / p.w) % p.h;
    let iw = i % p.w;
    let rows = covering(ih, p.kh, p.sh, p.ph, p.oh);
    let cols = covering(iw, p.kw, p.sw, p.pw, p.ow);
    let divisor = f32(p.kh * p.kw);
    var acc = 0.0;
    for (var oh = rows.x; oh < rows.y; oh++) {
        for (var ow = cols.x; ow < cols.y; ow++) {
            acc += src[(plane * p.oh + oh) * p.ow + ow] / divisor;
        }
    }
    dst[i] = acc;
}
