// C = op(A) op(B), or C += op(A) op(B): a tiled matrix multiply, batched over workgroup z.
//
// op(A) is m x k, op(B) is k x n, C is m x n. A workgroup of 16 x 16 invocations computes a
// 64 x 64 tile of C, each invocation a 4 x 4 block; the k dimension goes through workgroup
// memory 16 at a time. Every element of C sums its k products in index order from 0.0 (the
// core's order; the GPU compiler may fuse a multiply into the add, hence the tolerance).
// Matrices are row-major with leading dimensions lda, ldb, ldc; batch z starts at
// off + z * stride. Split k (k_chunk > 0, for a small C and a long k): workgroup z sums
// only k in [z * k_chunk, (z + 1) * k_chunk) of the same A and B into the partial C at
// off_c + z * stride_c; a reduction adds the partials.

struct Matmul {
    m: u32, n: u32, k: u32,
    // bit 0: A transposed (stored k x m), bit 1: B transposed (stored n x k), bit 2: C +=
    flags: u32,
    lda: u32, ldb: u32, ldc: u32, k_chunk: u32,
    off_a: u32, off_b: u32, off_c: u32, pad1: u32,
    stride_a: u32, stride_b: u32, stride_c: u32, pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Matmul;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

const TILE: u32 = 64u;
const TK: u32 = 16u;

// [TK][TILE] as vec4s: element (kk, i) is tile_a[kk * 16 + i / 4][i % 4]
var<workgroup> tile_a: array<vec4<f32>, 512>;
var<workgroup> tile_b: array<vec4<f32>, 512>;

fn load_a(i: u32, kk: u32, base: u32, k_end: u32) -> f32 {
    if (i >= p.m || kk >= k_end) {
        return 0.0;
    }
    if ((p.flags & 1u) != 0u) {
        return a[base + kk * p.lda + i];
    }
    return a[base + i * p.lda + kk];
}

fn load_b(kk: u32, j: u32, base: u32, k_end: u32) -> f32 {
    if (kk >= k_end || j >= p.n) {
        return 0.0;
    }
    if ((p.flags & 2u) != 0u) {
        return b[base + j * p.ldb + kk];
    }
    return b[base + kk * p.ldb + j];
}

fn store(i: u32, j0: u32, base: u32, v: vec4<f32>) {
    if (i >= p.m) {
        return;
    }
    for (var q = 0u; q < 4u; q++) {
        let j = j0 + q;
        if (j < p.n) {
            let at = base + i * p.ldc + j;
            if ((p.flags & 4u) != 0u) {
                c[at] = c[at] + v[q];
            } else {
                c[at] = v[q];
            }
        }
    }
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    var base_a = p.off_a + wg.z * p.stride_a;
    var base_b = p.off_b + wg.z * p.stride_b;
    var k_begin = 0u;
    var k_end = p.k;
    if (p.k_chunk != 0u) {
        base_a = p.off_a;
        base_b = p.off_b;
        k_begin = wg.z * p.k_chunk;
        k_end = min(p.k, k_begin + p.k_chunk);
    }
    let base_c = p.off_c + wg.z * p.stride_c;
    let row0 = wg.y * TILE;
    let col0 = wg.x * TILE;
    let t = lid.y * 16u + lid.x;
    let trans_a = (p.flags & 1u) != 0u;
    let trans_b = (p.flags & 2u) != 0u;
    // rows lid.y * 4 + 0..3 of the tile, each 4 columns lid.x * 4 + 0..3
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = k_begin; k0 < k_end; k0 += TK) {
        // TK * TILE values of each tile, read along the stored rows
        for (var r = 0u; r < TK * TILE / 256u; r++) {
            let e = t + r * 256u;
            var i = e / TK;
            var kk = e % TK;
            if (trans_a) {
                i = e % TILE;
                kk = e / TILE;
            }
            tile_a[kk * 16u + i / 4u][i % 4u] = load_a(row0 + i, k0 + kk, base_a, k_end);
            var j = e % TILE;
            var kb = e / TILE;
            if (trans_b) {
                j = e / TK;
                kb = e % TK;
            }
            tile_b[kb * 16u + j / 4u][j % 4u] = load_b(k0 + kb, col0 + j, base_b, k_end);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let fa = tile_a[kk * 16u + lid.y];
            let fb = tile_b[kk * 16u + lid.x];
            acc0 = acc0 + fa.x * fb;
            acc1 = acc1 + fa.y * fb;
            acc2 = acc2 + fa.z * fb;
            acc3 = acc3 + fa.w * fb;
        }
        workgroupBarrier();
    }
    let i0 = row0 + lid.y * 4u;
    let j0 = col0 + lid.x * 4u;
    store(i0, j0, base_c, acc0);
    store(i0 + 1u, j0, base_c, acc1);
    store(i0 + 2u, j0, base_c, acc2);
    store(i0 + 3u, j0, base_c, acc3);
}
