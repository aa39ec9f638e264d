//! The U-Net example's library (`neurite_host::unet`, behind `host/examples/unet_shapes.rs`)
//! and its data (`neurite_host::shapes`): the seeded generator is deterministic, draws
//! every kind of shape and masks exactly the shapes' pixels; the IoU is the textbook one;
//! and a short training run segments held-out images far better than the untrained model.
//! (The loss, `DiceBceWithLogits`, is checked against PyTorch by the golden cases
//! `loss_dice_bce_with_logits_*` and against finite differences by `gradcheck.rs`.)
//!
//! `cargo test -p neurite-tests --test unet -- --nocapture` prints the figures;
//! `cargo test --release -p neurite-tests --test unet -- --ignored --nocapture` trains the
//! example's default configuration for seeds 1..=4 and prints the range (measured with the
//! example binary: held-out mean IoU 0.9441, 0.9390, 0.9392, 0.9405).

use neurite_host::shapes::{generate_shapes, Shape, ShapeKind, ShapesConfig};
use neurite_host::unet::{
    build_unet, segmentation_scores, train_unet, unet_spec, UnetConfig, DEFAULT_WIDTH,
};

#[test]
fn generator_is_deterministic_and_seeded() {
    let cfg = ShapesConfig::default();
    let a = generate_shapes(&cfg, 20).unwrap();
    let b = generate_shapes(&cfg, 20).unwrap();
    // (`assert!`, not `assert_eq!`: a failure would print 20 000 pixels)
    assert!(a == b, "same seed, same images");
    let c = generate_shapes(&ShapesConfig { seed: 2, ..cfg.clone() }, 20).unwrap();
    assert!(a.images != c.images, "another seed, other images");
    assert!(a.masks != c.masks, "another seed, other masks");
    // a longer run starts with the same images: each image is drawn in turn
    let longer = generate_shapes(&cfg, 25).unwrap();
    assert!(longer.images[..20] == a.images[..], "the first 20 of 25 images differ");
    assert!(longer.masks[..20] == a.masks[..], "the first 20 of 25 masks differ");
    assert_eq!((a.len(), a.side, a.images[0].len()), (20, 32, 32 * 32));
}

#[test]
fn generator_draws_every_kind_and_masks_exactly_the_shapes() {
    let cfg = ShapesConfig::default();
    let set = generate_shapes(&cfg, 200).unwrap();
    let n = set.side;
    let mut kinds = std::collections::HashMap::new();
    let mut background = Vec::new();
    for ((image, mask), shapes) in set.images.iter().zip(&set.masks).zip(&set.shapes) {
        assert!((1..=3).contains(&shapes.len()), "{} shapes", shapes.len());
        for s in shapes {
            *kinds.entry(s.kind()).or_insert(0usize) += 1;
        }
        let mut on = 0;
        for y in 0..n {
            for x in 0..n {
                let inside = shapes.iter().any(|s| s.contains(x as f32 + 0.5, y as f32 + 0.5));
                let m = mask[y * n + x];
                assert_eq!(m, if inside { 1.0 } else { 0.0 }, "mask at ({x}, {y})");
                if inside {
                    on += 1;
                } else {
                    background.push(image[y * n + x]);
                }
            }
        }
        // every image has a visible shape, and it is not all shape
        assert!(on >= 20 && on < n * n / 2, "{on} foreground pixels");
    }
    for kind in ShapeKind::ALL {
        let count = kinds.get(&kind).copied().unwrap_or(0);
        // 200 images of 1 to 3 shapes: about 133 of each kind
        assert!((90..180).contains(&count), "{kind:?}: {count} of {kinds:?}");
    }
    // the background is N(0, noise^2)
    let m = background.iter().sum::<f32>() / background.len() as f32;
    let sd = (background.iter().map(|v| (v - m) * (v - m)).sum::<f32>() / background.len() as f32)
        .sqrt();
    assert!(m.abs() < 0.01 && (sd - cfg.noise).abs() < 0.01, "background mean {m}, sd {sd}");
    // bars are long and thin, discs round
    let bar = set.shapes.iter().flatten().find(|s| s.kind() == ShapeKind::Bar).unwrap();
    if let Shape::Bar { half_length, half_width, .. } = *bar {
        assert!(half_length > 3.0 * half_width, "{bar:?}");
    }
}

#[test]
fn generator_refuses_bad_settings() {
    let ok = ShapesConfig::default();
    for bad in [
        ShapesConfig { side: 4, ..ok.clone() },
        ShapesConfig { min_shapes: 0, ..ok.clone() },
        ShapesConfig { min_shapes: 3, max_shapes: 2, ..ok.clone() },
        ShapesConfig { noise: -0.1, ..ok.clone() },
        ShapesConfig { noise: f32::NAN, ..ok.clone() },
        ShapesConfig { intensity: (1.0, 1.0), ..ok.clone() },
    ] {
        assert!(generate_shapes(&bad, 1).is_err(), "{bad:?}");
    }
}

#[test]
fn iou_and_pixel_accuracy_by_hand() {
    // image 1: truth {0, 1, 2}, predicted (logit > 0) {1, 2, 3}: IoU 2/4, 2 pixels wrong
    // image 2: nothing in either: IoU 1, every pixel right
    let logits = vec![vec![-1.0, 2.0, 0.5, 3.0], vec![-1.0, -2.0, -0.5, 0.0]];
    let masks = vec![vec![1.0, 1.0, 1.0, 0.0], vec![0.0; 4]];
    let s = segmentation_scores(&logits, &masks);
    assert_eq!(s.ious, vec![0.5, 1.0]);
    assert_eq!(s.mean_iou, 0.75);
    assert_eq!(s.pixel_accuracy, 6.0 / 8.0);
}

#[test]
fn default_unet_shape_and_parameters() {
    // C = 8: conv 1->8 (80) + 8->8 (584); 8->16 (1168) + 16->16 (2320); 16->32 (4640) +
    // 32->32 (9248); convT 32->16 (2064); 32->16 (4624) + 16->16 (2320); convT 16->8 (520);
    // 16->8 (1160) + 8->8 (584); conv1 8->1 (9): 29321
    let cfg = UnetConfig::default();
    assert_eq!(cfg.spec, unet_spec(DEFAULT_WIDTH));
    let model = build_unet(&cfg.spec, 32).unwrap();
    assert_eq!(model.param_count(), 29321);
    assert_eq!(model.output_shape(), &[1, 32, 32]);
    // a side that is not a multiple of 4 cannot come back up to full size
    assert!(build_unet(&cfg.spec, 30).is_err());
}

/// The short run of [`short_training_segments_held_out_images`].
fn short(seed: u64) -> UnetConfig {
    UnetConfig { train_images: 400, test_images: 100, epochs: 2, seed, ..UnetConfig::default() }
}

#[test]
fn short_training_segments_held_out_images() {
    // Measured (400 training and 100 held-out images, 2 epochs, the default spec, batch and
    // lr): seed 1 held-out mean IoU 0.8470, pixel accuracy 0.9771, untrained 0.1468 and
    // 0.1638 (the initial model calls most pixels foreground); seeds 1..=5 (the example
    // binary with `--train-images 400 --test-images 100 --epochs 2 --seed S`, the same
    // bits): IoU 0.8470, 0.8759, 0.8425, 0.8797, 0.8748, pixel accuracy 0.9759 to 0.9822,
    // untrained IoU 0.108 to 0.147. Bounds: IoU above 0.7 (0.14 below the worst seed),
    // pixel accuracy above 0.95, untrained IoU below 0.4. Runs in about 8 s.
    let report = train_unet(&short(1)).unwrap();
    println!(
        "loss {:?}; held-out mean IoU {:.4}, pixel accuracy {:.4}; untrained {:.4}, {:.4}",
        report.train_loss,
        report.test.mean_iou,
        report.test.pixel_accuracy,
        report.untrained.mean_iou,
        report.untrained.pixel_accuracy
    );
    assert_eq!(report.train_loss.len(), 2);
    assert!(report.train_loss[1] < report.train_loss[0], "{:?}", report.train_loss);
    assert_eq!(report.test.ious.len(), 100);
    assert!(report.untrained.mean_iou < 0.4, "untrained IoU {}", report.untrained.mean_iou);
    assert!(report.test.mean_iou > 0.7, "held-out mean IoU {}", report.test.mean_iou);
    assert!(report.test.pixel_accuracy > 0.95, "pixel accuracy {}", report.test.pixel_accuracy);
}

#[test]
#[ignore = "trains the example's default configuration for 4 seeds; run with --ignored --release"]
fn seed_sweep() {
    let mut v = Vec::new();
    for seed in 1..=4 {
        let r = train_unet(&UnetConfig { seed, ..UnetConfig::default() }).unwrap();
        println!(
            "seed {seed}: held-out mean IoU {:.4}, pixel accuracy {:.4}",
            r.test.mean_iou, r.test.pixel_accuracy
        );
        v.push(r.test.mean_iou);
    }
    let (lo, hi) = v.iter().fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    println!("SWEEP unet held-out mean IoU: min {lo:.4} max {hi:.4} over seeds 1..=4: {v:?}");
    // the target for the example's default run, on every seed swept
    assert!(lo >= 0.90, "held-out mean IoU {lo} below 0.90 on a seed: {v:?}");
}
