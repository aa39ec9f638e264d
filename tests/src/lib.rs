//! Shared helpers for neurite's integration tests: the golden-case runner, gradient checks
//! and tolerance comparison.

pub mod golden;

/// `|got - want| <= abs + rel * |want|` for every element; `Err` names the first miss.
pub fn close(what: &str, got: &[f32], want: &[f32], rel: f32, abs: f32) -> Result<usize, String> {
    if got.len() != want.len() {
        return Err(format!("{what}: {} values, expected {}", got.len(), want.len()));
    }
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = (g - w).abs() <= abs + rel * w.abs() || (g.is_nan() && w.is_nan()) || g == w;
        if !ok {
            return Err(format!("{what}[{i}]: got {g}, expected {w} (rel {rel}, abs {abs})"));
        }
    }
    Ok(got.len())
}
