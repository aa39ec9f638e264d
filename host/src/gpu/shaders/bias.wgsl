// y[i] += bias[(i / inner) % channels]: a dense layer's bias (inner = 1, channels = outputs)
// or a convolution's (inner = output positions, channels = output channels), on n values.

struct Bias {
    n: u32,
    channels: u32,
    inner: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Bias;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 256u;
    if (i < p.n) {
        y[i] = y[i] + bias[(i / p.inner) % p.channels];
    }
}
