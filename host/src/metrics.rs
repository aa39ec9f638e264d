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

/// Precision, recall and F1 of one class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassScores {
    /// Of the rows predicted as this class, the fraction that are.
    pub precision: f32,
    /// Of the rows of this class, the fraction predicted as it.
    pub recall: f32,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f32,
    /// Rows of this class.
    pub support: usize,
}

/// Per-class scores from a confusion matrix (`confusion[actual][predicted]`).
pub fn class_scores(confusion: &[Vec<usize>]) -> Vec<ClassScores> {
    let k = confusion.len();
    (0..k)
        .map(|c| {
            let tp = confusion[c][c] as f32;
            let predicted: usize = (0..k).map(|a| confusion[a][c]).sum();
            let support: usize = confusion[c].iter().sum();
            let precision = if predicted == 0 { 0.0 } else { tp / predicted as f32 };
            let recall = if support == 0 { 0.0 } else { tp / support as f32 };
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            ClassScores { precision, recall, f1, support }
        })
        .collect()
}

/// Coefficient of determination `1 - SS_res / SS_tot`.
pub fn r2(predicted: &[f32], actual: &[f32]) -> f32 {
    let n = actual.len().max(1) as f64;
    let mean = actual.iter().map(|&a| f64::from(a)).sum::<f64>() / n;
    let ss_tot: f64 = actual.iter().map(|&a| (f64::from(a) - mean).powi(2)).sum();
    let ss_res: f64 = predicted.iter().zip(actual).map(|(p, a)| f64::from(p - a).powi(2)).sum();
    if ss_tot == 0.0 {
        0.0
    } else {
        (1.0 - ss_res / ss_tot) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_by_hand() {
        // actual 0: 3 right, 1 predicted as 1; actual 1: 2 right
        let m = confusion(&[0, 0, 0, 1, 1, 1], &[0, 0, 0, 0, 1, 1], 2);
        assert_eq!(m, vec![vec![3, 1], vec![0, 2]]);
        let s = class_scores(&m);
        assert_eq!((s[0].precision, s[0].recall, s[0].support), (1.0, 0.75, 4));
        assert!((s[1].precision - 2.0 / 3.0).abs() < 1e-6 && s[1].recall == 1.0);
        assert!((s[0].f1 - 2.0 * 0.75 / 1.75).abs() < 1e-6);
        assert_eq!(r2(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 1.0);
        assert_eq!(accuracy(&[1, 2], &[1, 3]), 0.5);
        assert!((rmse(&[0.0, 0.0], &[3.0, 4.0]) - 12.5f32.sqrt()).abs() < 1e-6);
    }
}
