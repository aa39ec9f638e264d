//! PNGs (plotters, bitmap backend): loss and accuracy per epoch, and grids of small grey
//! images (the examples' digits, masks and predictions). The shipped DejaVu Sans font is
//! compiled in: `plotters` is built without its `ttf` feature, so its system-font lookup,
//! `font-kit`, is not linked; no test runs on a machine without fonts.

use plotters::coord::Shift;
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
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
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

/// Screen pixels per image pixel in the image grids.
pub const ZOOM: usize = 6;
/// Gap between images and around an image grid, in screen pixels.
pub const GAP: usize = 4;

/// How an image's values, clamped to `[0, 1]` (non-finite: 0), become grey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ink {
    /// 1 is black on white: the digits, as scikit-learn's `gray_r` shows them.
    Dark,
    /// 1 is white on black: masks, probabilities.
    Light,
}

/// Draws one image (row-major, `width` values per row) with its top-left corner at
/// `(x0, y0)`, each value a [`ZOOM`]-pixel grey square.
pub fn draw_grey_image(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    (x0, y0): (usize, usize),
    values: &[f32],
    width: usize,
    ink: Ink,
) -> Result<(), Box<dyn std::error::Error>> {
    for (k, &v) in values.iter().enumerate() {
        let (r, c) = (k / width, k % width);
        let level = if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 };
        let light = match ink {
            Ink::Dark => 1.0 - level,
            Ink::Light => level,
        };
        let grey = (255.0 * light).round() as u8;
        let (px, py) = ((x0 + c * ZOOM) as i32, (y0 + r * ZOOM) as i32);
        root.draw(&Rectangle::new(
            [(px, py), (px + ZOOM as i32, py + ZOOM as i32)],
            RGBColor(grey, grey, grey).filled(),
        ))?;
    }
    Ok(())
}

/// Writes a PNG of `images` (row-major `height x width` values each, drawn as
/// [`draw_grey_image`] draws them) in a grid of `cols` columns on a grey background.
pub fn write_image_grid(
    path: &Path,
    images: &[Vec<f32>],
    cols: usize,
    (height, width): (usize, usize),
    ink: Ink,
) -> Result<(), Box<dyn std::error::Error>> {
    if images.is_empty() || cols == 0 || height == 0 || width == 0 {
        return Err("need at least one image, one column and a positive image size".into());
    }
    if images.iter().any(|im| im.len() != height * width) {
        return Err(format!("every image must have {height}x{width} values").into());
    }
    let rows = images.len().div_ceil(cols);
    let (cell_w, cell_h) = (width * ZOOM, height * ZOOM);
    let png_w = cols.min(images.len()) * (cell_w + GAP) + GAP;
    let png_h = rows * (cell_h + GAP) + GAP;
    let root = BitMapBackend::new(path, (png_w as u32, png_h as u32)).into_drawing_area();
    root.fill(&RGBColor(150, 150, 150))?;
    for (i, image) in images.iter().enumerate() {
        let corner = (GAP + (i % cols) * (cell_w + GAP), GAP + (i / cols) * (cell_h + GAP));
        draw_grey_image(&root, corner, image, width, ink)?;
    }
    root.present()?;
    Ok(())
}
