//! Classification and regression metrics.

/// Fraction of `predicted[i] == actual[i]`.
pub fn accuracy(predicted: &[usize], actual: &[usize]) -> f32 {
    let hits = predicted.iter().zip(actual).filter(|(p, a)| p == a).count();
    hits as f32 / actual.len().max(1) as f32
}

/// Root mean squared error.
pub fn rmse(predicted: &[f32], actual: &[f32]) -> f32 {
    let n = actual.len().max(1) as f64;
    let s: f64 = predicted.iter().zip(actual).map(|(p, a)| f64::from(p - a).powi(2)).sum();
    (s / n).sqrt() as f32
}

/// Mean absolute error.
pub fn mae(predicted: &[f32], actual: &[f32]) -> f32 {
    let n = actual.len().max(1) as f64;
    let s: f64 = predicted.iter().zip(actual).map(|(p, a)| f64::from((p - a).abs())).sum();
    (s / n) as f32
}

/// `confusion[actual][predicted]` counts for `classes` classes.
pub fn confusion(predicted: &[usize], actual: &[usize], classes: usize) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0; classes]; classes];
    for (&p, &a) in predicted.iter().zip(actual) {
        if p < classes && a < classes {
            m[a][p] += 1;
        }
    }
    m
}
