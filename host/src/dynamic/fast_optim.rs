//! Optimiser updates over whole tensors in loops the compiler vectorises, bit-identical to
//! the core's kernels (`neurite::optim`): the same operations on each element in the same
//! order, with the options hoisted out of the loop (one loop per combination, no branch per
//! element) and `f32::sqrt` (the hardware's correctly rounded square root, as libm's
//! `sqrtf`), so that eight elements go through each instruction. Dispatched for AVX by
//! [`super::simd`].

use neurite::optim::adam::AdamStep;
use neurite::optim::AdamConfig;

/// One Adam update of a tensor: `neurite::optim::adam::update_with`, vectorised.
#[inline(always)]
pub fn adam(
    cfg: &AdamConfig,
    s: &AdamStep,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    v_max: Option<&mut [f32]>,
) {
    let decay = cfg.weight_decay != 0.0;
    let n = p.len().min(g.len()).min(m.len()).min(v.len());
    if v_max.as_deref().is_some_and(|vm| vm.len() < n) {
        // the core's update then uses `v` past `v_max`'s end: leave that rare case to it
        return neurite::optim::adam::update_with(cfg, s, p, g, m, v, v_max);
    }
    match (cfg.decoupled_weight_decay, decay, v_max) {
        (true, _, None) => adam_loop::<true, false, false>(cfg, s, p, g, m, v, &mut []),
        (true, _, Some(vm)) => adam_loop::<true, false, true>(cfg, s, p, g, m, v, vm),
        (false, true, None) => adam_loop::<false, true, false>(cfg, s, p, g, m, v, &mut []),
        (false, true, Some(vm)) => adam_loop::<false, true, true>(cfg, s, p, g, m, v, vm),
        (false, false, None) => adam_loop::<false, false, false>(cfg, s, p, g, m, v, &mut []),
        (false, false, Some(vm)) => adam_loop::<false, false, true>(cfg, s, p, g, m, v, vm),
    }
}

/// The update for one combination of options: AdamW's decoupled decay, L2 decay, AMSGrad.
#[inline(always)]
fn adam_loop<const DECOUPLED: bool, const DECAY: bool, const AMSGRAD: bool>(
    cfg: &AdamConfig,
    s: &AdamStep,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    v_max: &mut [f32],
) {
    let (b1, b2) = cfg.betas;
    let (one_minus_b1, one_minus_b2) = (1.0 - b1, 1.0 - b2);
    let (wd, eps) = (cfg.weight_decay, cfg.eps);
    let (step_size, bc2_sqrt, shrink) = (s.step_size(), s.bc2_sqrt(), s.shrink());
    let n = p.len().min(g.len()).min(m.len()).min(v.len());
    let (p, g, m, v) = (&mut p[..n], &g[..n], &mut m[..n], &mut v[..n]);
    let v_max = if AMSGRAD { &mut v_max[..n] } else { v_max };
    for i in 0..n {
        let d = if DECOUPLED {
            p[i] *= shrink;
            g[i]
        } else if DECAY {
            g[i] + wd * p[i]
        } else {
            g[i]
        };
        m[i] += one_minus_b1 * (d - m[i]);
        v[i] = v[i] * b2 + one_minus_b2 * d * d;
        let second = if AMSGRAD {
            let vm = if v[i] > v_max[i] { v[i] } else { v_max[i] };
            v_max[i] = vm;
            vm
        } else {
            v[i]
        };
        let denom = second.sqrt() / bc2_sqrt + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

#[cfg(test)]
mod tests {
    use neurite::optim::adam::{update_with, AdamStep};
    use neurite::optim::AdamConfig;
    use neurite::rng::Rng;

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Every combination of options, on values that include zeros, huge and tiny gradients,
    /// infinities and NaN, equals the core's update bit for bit, over several steps.
    #[test]
    fn adam_equals_the_cores_update_bit_for_bit() {
        let mut rng = Rng::new(11);
        let n = 67;
        let special = [0.0, -0.0, 1e30, -1e-30, f32::INFINITY, f32::NAN, 1e-45];
        for decoupled in [false, true] {
            for wd in [0.0, 0.01] {
                for ams in [false, true] {
                    let cfg = AdamConfig {
                        weight_decay: wd,
                        decoupled_weight_decay: decoupled,
                        amsgrad: ams,
                        ..AdamConfig::adam(0.01)
                    };
                    let init: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
                    let (mut p, mut m, mut v, mut vm) =
                        (init.clone(), vec![0.0; n], vec![0.0; n], vec![0.0; n]);
                    let (mut rp, mut rm, mut rv, mut rvm) =
                        (init, vec![0.0; n], vec![0.0; n], vec![0.0; n]);
                    for step in 1..=5 {
                        let g: Vec<f32> = (0..n)
                            .map(|i| {
                                if i % 9 == 0 {
                                    special[(i / 9 + step) % special.len()]
                                } else {
                                    rng.normal()
                                }
                            })
                            .collect();
                        let s = AdamStep::new(&cfg, step as u32);
                        let (vmax, rvmax) = if ams {
                            (Some(&mut vm[..]), Some(&mut rvm[..]))
                        } else {
                            (None, None)
                        };
                        crate::dynamic::simd::adam(&cfg, &s, &mut p, &g, &mut m, &mut v, vmax);
                        update_with(&cfg, &s, &mut rp, &g, &mut rm, &mut rv, rvmax);
                        let case =
                            format!("decoupled {decoupled}, wd {wd}, amsgrad {ams}, step {step}");
                        assert_eq!(bits(&p), bits(&rp), "p: {case}");
                        assert_eq!(bits(&m), bits(&rm), "m: {case}");
                        assert_eq!(bits(&v), bits(&rv), "v: {case}");
                        assert_eq!(bits(&vm), bits(&rvm), "v_max: {case}");
                    }
                    // a v_max shorter than the tensor: the core's rule (v past its end)
                    let s = AdamStep::new(&cfg, 6);
                    let g = vec![0.5; n];
                    crate::dynamic::simd::adam(
                        &cfg,
                        &s,
                        &mut p,
                        &g,
                        &mut m,
                        &mut v,
                        Some(&mut vm[..3]),
                    );
                    update_with(&cfg, &s, &mut rp, &g, &mut rm, &mut rv, Some(&mut rvm[..3]));
                    assert_eq!(bits(&p), bits(&rp), "short v_max");
                }
            }
        }
    }
}
