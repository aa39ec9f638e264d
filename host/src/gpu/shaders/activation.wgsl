// Element-wise activations, forward `y = f(x)` and backward `dx = f'(x) dy`, the core's
// formulas (`core/src/activation.rs`) with the same branch points, on `n` values.
// `kind`, `a` and `b` are `ActivationKind::encode`'s code and options (negative_slope, alpha,
// beta, threshold).

struct Act {
    n: u32,
    kind: u32,
    a: f32,
    b: f32,
}

@group(0) @binding(0) var<uniform> p: Act;
@group(0) @binding(1) var<storage, read> x: array<f32>;
// forward: y; backward: dx
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;

const SELU_ALPHA: f32 = 1.6732632;
const SELU_SCALE: f32 = 1.050701;
const FRAC_1_SQRT_2: f32 = 0.70710677;
const FRAC_1_SQRT_2PI: f32 = 0.3989423;
const SQRT_2_OVER_PI: f32 = 0.7978846;
const GELU_TANH_COEF: f32 = 0.044715;

fn sigmoid(v: f32) -> f32 {
    if (v >= 0.0) {
        return 1.0 / (1.0 + exp(-v));
    }
    let e = exp(v);
    return e / (1.0 + e);
}

// tanh through exp(-2|v|): finite for every input (a driver's tanh may not be)
fn tanh_s(v: f32) -> f32 {
    let e = exp(-2.0 * abs(v));
    let t = (1.0 - e) / (1.0 + e);
    return select(-t, t, v >= 0.0);
}

fn expm1_s(v: f32) -> f32 {
    if (abs(v) < 1e-3) {
        return v + v * v * (0.5 + v / 6.0);
    }
    return exp(v) - 1.0;
}

fn log1p_s(v: f32) -> f32 {
    let u = 1.0 + v;
    if (u == 1.0) {
        return v;
    }
    return log(u) * (v / (u - 1.0));
}

// erf to about 1e-7: its Taylor series near 0, Numerical Recipes' erfc approximation
// (relative error below 1.2e-7) beyond
fn erf_s(v: f32) -> f32 {
    let z = abs(v);
    var r: f32;
    if (z < 0.5) {
        // Taylor series to x^11: error below 1e-8 on [0, 0.5]
        let z2 = z * z;
        r = z * (1.1283792 + z2 * (-0.37612638 + z2 * (0.11283792 + z2 * (-0.026866171
            + z2 * (0.0052239776 + z2 * (-0.00085483270))))));
    } else {
        let t = 1.0 / (1.0 + 0.5 * z);
        // Numerical Recipes' erfc (Chebyshev), relative error below 1.2e-7
        let y = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
            + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
            + t * (-0.82215223 + t * 0.17087277)))))))));
        r = 1.0 - y;
    }
    return select(-r, r, v >= 0.0);
}

fn f(v: f32) -> f32 {
    switch p.kind {
        case 0u: { return v; }
        case 1u: { return select(0.0, 1.0, v > 0.0); }
        case 2u: { return sigmoid(v); }
        case 3u: { return tanh_s(v); }
        case 4u: { return select(v, 0.0, v < 0.0); }
        case 5u: { return select(v * p.a, v, v > 0.0); }
        case 6u: {
            let bx = v * p.a;
            if (bx > p.b) {
                return v;
            }
            return log1p_s(exp(bx)) / p.a;
        }
        case 7u: { return 0.5 * v * (1.0 + erf_s(v * FRAC_1_SQRT_2)); }
        case 8u: {
            let inner = SQRT_2_OVER_PI * (v + GELU_TANH_COEF * v * v * v);
            return 0.5 * v * (1.0 + tanh_s(inner));
        }
        case 9u: { return v * sigmoid(v); }
        case 10u: { return v * sigmoid(p.a * v); }
        case 11u: { return select(p.a * expm1_s(v), v, v >= 0.0); }
        default: { return select(SELU_SCALE * SELU_ALPHA * expm1_s(v), SELU_SCALE * v, v > 0.0); }
    }
}

fn df(v: f32) -> f32 {
    switch p.kind {
        case 0u: { return 1.0; }
        case 1u: { return 0.0; }
        case 2u: {
            let s = sigmoid(v);
            return s * (1.0 - s);
        }
        case 3u: {
            let t = tanh_s(v);
            return 1.0 - t * t;
        }
        case 4u: { return select(1.0, 0.0, v <= 0.0); }
        case 5u: { return select(p.a, 1.0, v > 0.0); }
        case 6u: {
            let bx = v * p.a;
            if (bx > p.b) {
                return 1.0;
            }
            let z = exp(bx);
            return z / (z + 1.0);
        }
        case 7u: {
            let cdf = 0.5 * (1.0 + erf_s(v * FRAC_1_SQRT_2));
            let pdf = exp(-0.5 * v * v) * FRAC_1_SQRT_2PI;
            return cdf + v * pdf;
        }
        case 8u: {
            let v2 = v * v;
            let inner = SQRT_2_OVER_PI * (v + GELU_TANH_COEF * v2 * v);
            let t = tanh_s(inner);
            let d_inner = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_TANH_COEF * v2);
            return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * d_inner;
        }
        case 9u: {
            let s = sigmoid(v);
            return s * (1.0 + v * (1.0 - s));
        }
        case 10u: {
            let s = sigmoid(p.a * v);
            return s + p.a * v * s * (1.0 - s);
        }
        case 11u: { return select(1.0, p.a * exp(v), v <= 0.0); }
        default: { return select(SELU_SCALE, SELU_SCALE * SELU_ALPHA * exp(v), v <= 0.0); }
    }
}

fn index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 256u;
}

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i < p.n) {
        out[i] = f(x[i]);
    }
}

@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i < p.n) {
        out[i] = df(x[i]) * dy[i];
    }
}
