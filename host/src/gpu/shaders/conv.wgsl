// Convolution as a matrix multiply (im2col): the batch's input windows become the columns
// of `col` ([C*KH*KW][B*P], P = OH*OW output positions per sample), so the forward is
// y' = W [O][C*KH*KW] times col (one multiply for the whole batch, `unpermute`d to
// [B][O][P]), the weight gradient dy' col^T and the input gradient's columns W^T dy'
// (`dy'` = dy `permute`d to [O][B*P]); `col2im` gathers those columns back into dx.

struct Conv {
    c: u32, h: u32, w: u32, o: u32,
    kh: u32, kw: u32, sh: u32, sw: u32,
    ph: u32, pw: u32, dh: u32, dw: u32,
    oh: u32, ow: u32, batch: u32, n: u32,
}

@group(0) @binding(0) var<uniform> p: Conv;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 256u;
}

// src = x [B][C][H][W], dst = col [C*KH*KW][B*P]; n = C*KH*KW*B*P
@compute @workgroup_size(256)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i >= p.n) {
        return;
    }
    let positions = p.oh * p.ow;
    let columns = p.batch * positions;
    let row = i / columns;
    let column = i % columns;
    let s = column / positions;
    let pos = column % positions;
    let c = row / (p.kh * p.kw);
    let tap = row % (p.kh * p.kw);
    let ih = i32((pos / p.ow) * p.sh + (tap / p.kw) * p.dh) - i32(p.ph);
    let iw = i32((pos % p.ow) * p.sw + (tap % p.kw) * p.dw) - i32(p.pw);
    var v = 0.0;
    if (ih >= 0 && iw >= 0 && u32(ih) < p.h && u32(iw) < p.w) {
        v = src[((s * p.c + c) * p.h + u32(ih)) * p.w + u32(iw)];
    }
    dst[i] = v;
}

// src = dcol [C*KH*KW][B*P], dst = dx [B][C][H][W]; n = B*C*H*W. Each input value sums the
// column entries of the windows that read it, kernel row then column.
@compute @workgroup_size(256)
fn col2im(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i >= p.n) {
        return;
    }
    let positions = p.oh * p.ow;
    let columns = p.batch * positions;
    let iw = i % p.w;
    let ih = (i / p.w) % p.h;
    let c = (i / (p.w * p.h)) % p.c;
    let s = i / (p.w * p.h * p.c);
    var acc = 0.0;
    for (var ki = 0u; ki < p.kh; ki++) {
        let th = i32(ih + p.ph) - i32(ki * p.dh);
        if (th < 0 || u32(th) % p.sh != 0u || u32(th) / p.sh >= p.oh) {
            continue;
        }
        for (var kj = 0u; kj < p.kw; kj++) {
            let tw = i32(iw + p.pw) - i32(kj * p.dw);
            if (tw < 0 || u32(tw) % p.sw != 0u || u32(tw) / p.sw >= p.ow) {
                continue;
            }
            let row = (c * p.kh + ki) * p.kw + kj;
            let pos = (u32(th) / p.sh) * p.ow + u32(tw) / p.sw;
            acc += src[row * columns + s * positions + pos];
        }
    }
    dst[i] = acc;
}

// src = dy [B][O][P], dst = dy' [O][B*P]; n = B*O*P
@compute @workgroup_size(256)
fn permute(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i >= p.n) {
        return;
    }
    let positions = p.oh * p.ow;
    let s = i / (p.o * positions);
    let o = (i / positions) % p.o;
    let pos = i % positions;
    dst[(o * p.batch + s) * positions + pos] = src[i];
}

// src = y' [O][B*P], dst = y [B][O][P]; n = B*O*P
@compute @workgroup_size(256)
fn unpermute(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i >= p.n) {
        return;
    }
    let positions = p.oh * p.ow;
    let s = i / (p.o * positions);
    let o = (i / positions) % p.o;
    let pos = i % positions;
    dst[i] = src[(o * p.batch + s) * positions + pos];
}
