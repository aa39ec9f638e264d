// A layer that implements only `Infer` (frozen in flash, no backward, no gradient type) runs,
// but cannot be trained: a `Trainer` needs a `Layer`.
use neurite::layer::{Infer, LayerDesc};
use neurite::prelude::Trainer;

struct OnlyInfer;

impl Infer for OnlyInfer {
    type Input = [f32; 4];
    type Output = [f32; 2];
    fn forward(&self, x: &[f32; 4], y: &mut [f32; 2]) {
        *y = [x[0] + x[1], x[2] + x[3]];
    }
    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        y[0] = x[0] + x[1];
        y[1] = x[2] + x[3];
    }
    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other { name: "only_infer", inputs: 4, outputs: 2, params: 0 });
    }
}

fn main() {
    let mut y = [0.0; 2];
    OnlyInfer.forward(&[1.0; 4], &mut y);
    let _trainer = Trainer::<OnlyInfer>::new();
}
