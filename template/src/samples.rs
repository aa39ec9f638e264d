//! Labelled samples for the QEMU run: the first four of each class among the iris test rows
//! (`host/data/iris.csv`, rows 0, 5, 10, ...), raw measurements in centimetres. On a device these
//! come from your sensor (`firmware/src/sensor.rs` is an embedded-hal I2C driver to start
//! from) and your user's labels.

/// `(raw features, class)`: sepal length, sepal width, petal length, petal width.
pub const SAMPLES: [([f32; 4], usize); 12] = [
    ([5.1, 3.5, 1.4, 0.2], 0),
    ([5.4, 3.9, 1.7, 0.4], 0),
    ([5.4, 3.7, 1.5, 0.2], 0),
    ([5.7, 4.4, 1.5, 0.4], 0),
    ([7.0, 3.2, 4.7, 1.4], 1),
    ([5.7, 2.8, 4.5, 1.3], 1),
    ([5.0, 2.0, 3.5, 1.0], 1),
    ([6.7, 3.1, 4.4, 1.4], 1),
    ([6.3, 3.3, 6.0, 2.5], 2),
    ([7.6, 3.0, 6.6, 2.1], 2),
    ([6.5, 3.2, 5.1, 2.0], 2),
    ([6.4, 3.2, 5.3, 2.3], 2),
];
