//! Loss and accuracy per epoch as a PNG (plotters, bitmap backend, the shipped DejaVu Sans
//! font compiled in: `plotters` is built without its `ttf` feature, so its system-font
//! lookup, `font-kit`, is not linked; no test runs on a machine without fonts).

use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// Registers the shipped DejaVu Sans as `sans-serif` (once per process) for text in PNGs.
pub fn register_font() {
    REGISTER.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// One curve per epoch.
pub struct Series<'a> {
    /// Legend label.
    pub label: &'a str,
    /// Value per epoch (epoch 1 first).
    pub values: &'a [f32],
    /// Colour.
    pub color: RGBColor,
}

/// Draws a two-panel chart: losses (left axis) and a metric (right panel) per epoch.
pub fn training_curves(
    path: &Path,
    title: &str,
    losses: &[Series<'_>],
    metric_name: &str,
    metrics: &[Series<'_>],
) -> Result<(), Box<dyn std::error::Error>> {
    register_font();
    let root = BitMapBackend::new(path, (1200, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 24))?;
    let (left, right) = root.split_horizontally(600);
    panel(&left, "loss per epoch", "loss", losses, true)?;
    panel(&right, &format!("{metric_name} per epoch"), metric_name, metrics, false)?;
    root.present()?;
    Ok(())
}

fn panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    y_label: &str,
    series: &[Series<'_>],
    from_zero: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let epochs = series.iter().map(|s| s.values.len()).max().unwrap_or(1).max(2);
    let values = series.iter().flat_map(|s| s.values.iter().copied()).filter(|v| v.is_finite());
    let (lo, hi) = values.fold((f32::MAX, f32::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo > hi { (0.0, 1.0) } else { (lo, hi) };
    let pad = ((hi - lo) * 0.05).max(1e-3);
    // losses from 0; a metric such as accuracy zoomed to its range
    let bottom = if from_zero { (lo - pad).min(0.0) } else { lo - pad };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1f32..epochs as f32, bottom..hi + pad)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_label)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style(("sans-serif", 14))
        .draw()?;
    for s in series {
        let color = s.color;
        chart
            .draw_series(LineSeries::new(
                s.values.iter().enumerate().map(|(i, &v)| ((i + 1) as f32, v)),
                color.stroke_width(2),
            ))?
            .label(s.label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    Ok(())
}
