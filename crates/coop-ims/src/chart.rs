//! Charts for the report pages, drawn on the server as SVG with `plotters` (its SVG backend
//! only: no fonts are read, text is left to the browser). Each chart is drawn twice, in the
//! kit's text colour for light and for dark pages, and shown as an image (`<picture>` picks the
//! scheme) whose `alt` says what it shows; the page has the table it was drawn from beside it.

use plotters::prelude::*;
use rust_decimal::prelude::ToPrimitive as _;
use rust_decimal::Decimal;

/// A chart as `data:` URIs for a light and a dark page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Chart {
    pub light: String,
    pub dark: String,
    pub width: u32,
    pub height: u32,
}

/// The kit's text colours (kit.css `--text`), light and dark.
const LIGHT_TEXT: &str = "#0b0c0c";
const DARK_TEXT: &str = "#f3f2f1";

/// A horizontal bar per item (label, value), the largest value the full width; `None` for no
/// items.
pub fn bar_chart(items: &[(String, Decimal)]) -> Option<Chart> {
    use base64::Engine as _;
    let svg = bars(items);
    if svg.is_empty() {
        return None;
    }
    let uri = |colour: &str| {
        format!(
            "data:image/svg+xml;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(svg.replace("currentColor", colour))
        )
    };
    let n = u32::try_from(items.len()).unwrap_or(u32::MAX);
    Some(Chart {
        light: uri(LIGHT_TEXT),
        dark: uri(DARK_TEXT),
        width: 720,
        height: 30 + 26 * n,
    })
}

/// The chart's SVG, its colours `currentColor`; empty for no items.
pub fn bars(items: &[(String, Decimal)]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let max = items
        .iter()
        .map(|(_, v)| v.to_f64().unwrap_or(0.0))
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let n = u32::try_from(items.len()).unwrap_or(u32::MAX);
    let height = 30 + 26 * n;
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (720, height)).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .margin(6)
            .x_label_area_size(22)
            .y_label_area_size(230)
            .build_cartesian_2d(0.0..max * 1.05, (0..items.len()).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(BLACK.mix(0.08))
            .bold_line_style(BLACK.mix(0.15))
            .y_labels(items.len())
            // The first item stands at the top: segment 0 is at the bottom.
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => items
                    .get(items.len().wrapping_sub(1).wrapping_sub(*i))
                    .map(|(l, _)| {
                        let mut s: String = l.chars().take(32).collect();
                        if l.chars().count() > 32 {
                            s.push('…');
                        }
                        s
                    })
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .x_label_formatter(&|v| {
                if max < 10.0 {
                    format!("{v:.1}")
                } else {
                    format!("{v:.0}")
                }
            })
            .label_style(("sans-serif", 13))
            .draw()?;
        let n = items.len();
        chart.draw_series(items.iter().enumerate().map(|(i, (_, v))| {
            let v = v.to_f64().unwrap_or(0.0);
            let at = n - 1 - i;
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(at)),
                    (v, SegmentValue::Exact(at + 1)),
                ],
                BLACK.mix(0.75).filled(),
            );
            bar.set_margin(4, 4, 0, 0);
            bar
        }))?;
        root.present()?;
        Ok(())
    })();
    if let Err(e) = drawn {
        tracing::warn!(error = %e, "chart not drawn");
        return String::new();
    }
    // Black becomes the page's text colour (light or dark scheme alike).
    svg.replace("#000000", "currentColor").replacen(
        "<svg ",
        "<svg aria-hidden=\"true\" focusable=\"false\" ",
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_drawn_with_their_labels_in_the_page_colour() {
        let svg = bars(&[
            ("Kaffe mellanrost 450 g".into(), Decimal::from(1200)),
            ("Havregryn 1 kg".into(), Decimal::from(300)),
        ]);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("Kaffe mellanrost 450 g") && svg.contains("Havregryn 1 kg"));
        assert!(svg.matches("<rect").count() >= 2);
        assert!(!svg.contains("#000000"));
        assert!(bars(&[]).is_empty());
        let chart = bar_chart(&[("Kaffe".into(), Decimal::from(10))]).unwrap();
        assert!(chart.light.starts_with("data:image/svg+xml;base64,"));
        assert_ne!(chart.light, chart.dark);
    }
}
