// out[i] = sum over j < count of src[i * stride_out + j * stride_in]: the bias gradients
// (a dense layer's column sums of dy, a convolution's row sums of its permuted dy), with
// one workgroup per output (`main`: 256 strided partial sums, then a tree in workgroup
// memory); the partial products of a split-k matrix multiply, with one invocation per
// output summing its few partials in order (`few`).

struct Sum {
    outs: u32,
    count: u32,
    stride_out: u32,
    stride_in: u32,
}

@group(0) @binding(0) var<uniform> p: Sum;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
    let i = wg.x + wg.y * groups.x;
    var acc = 0.0;
    if (i < p.outs) {
        for (var j = t; j < p.count; j += 256u) {
            acc += src[i * p.stride_out + j * p.stride_in];
        }
    }
    partial[t] = acc;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half = half / 2u) {
        if (t < half) {
            partial[t] = partial[t] + partial[t + half];
        }
        workgroupBarrier();
    }
    if (t == 0u && i < p.outs) {
        out[i] = partial[0];
    }
}

@compute @workgroup_size(256)
fn few(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 256u;
    if (i >= p.outs) {
        return;
    }
    var acc = 0.0;
    for (var j = 0u; j < p.count; j++) {
        acc += src[i * p.stride_out + j * p.stride_in];
    }
    out[i] = acc;
}
