//! The chart renderers' SVG parses, is labelled for assistive technology, and places every
//! mark where independent arithmetic says it belongs: x = left + (t − start)/(end − start)·w,
//! y = top + (max − v)/(max − min)·h, with the axis limits read from the drawn tick labels.

use analysis::chart::{
    ChartError, LinePoint, LineSeries, PointLink, StackedBar, StackedBarChart, TrendChart,
};
use roxmltree::{Document, Node};

/// 2025-11-01T00:00:00Z.
const DAY0: i64 = 1_761_955_200;
/// Coordinates are printed with two decimals.
const TOL: f64 = 0.0051;

fn attr(n: Node, name: &str) -> f64 {
    n.attribute(name)
        .unwrap_or_else(|| panic!("{} has no {name}", n.tag_name().name()))
        .parse()
        .unwrap()
}

/// The plot area (left, top, width, height).
fn plot_area(doc: &Document) -> (f64, f64, f64, f64) {
    let r = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("plot-area"))
        .expect("plot area");
    (
        attr(r, "x"),
        attr(r, "y"),
        attr(r, "width"),
        attr(r, "height"),
    )
}

/// The y tick labels as (value, y).
fn y_ticks(doc: &Document) -> Vec<(f64, f64)> {
    doc.descendants()
        .filter(|n| n.attribute("class") == Some("y-tick"))
        .map(|n| (n.text().unwrap().parse().unwrap(), attr(n, "y")))
        .collect()
}

/// Checks that the ticks are evenly spaced on a 1, 2 or 5 × 10ⁿ step and placed linearly.
fn check_ticks(ticks: &[(f64, f64)], top: f64, h: f64) -> (f64, f64) {
    assert!(ticks.len() >= 3, "{ticks:?}");
    let (min, max) = (ticks[0].0, ticks[ticks.len() - 1].0);
    let step = ticks[1].0 - ticks[0].0;
    let mantissa = step / 10f64.powf(step.log10().floor());
    assert!(
        [1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-9),
        "step {step}"
    );
    for (k, (v, y)) in ticks.iter().enumerate() {
        assert!((v - (min + k as f64 * step)).abs() < 1e-9 * step.max(1.0));
        assert!(
            (y - (top + (max - v) / (max - min) * h)).abs() < TOL,
            "tick {v} at {y}"
        );
    }
    (min, max)
}

fn trend() -> TrendChart {
    let hhv = [84.0, 85.5, 83.2, 86.1];
    let u = [1.2, 0.9, 1.5, 1.1];
    let point = |k: usize, v: f64, bounds, link: bool| LinePoint {
        time: DAY0 + 3600 * k as i64 + 1800,
        value: v,
        bounds,
        label: format!("hour {k}: {v} %"),
        link: link.then(|| PointLink {
            id: format!("CALC-{k}"),
            href: format!("/calculations/CALC-{k}?a=1&b=2"),
        }),
    };
    TrendChart {
        id: "trend-chart".into(),
        title: "Efficiency <trend> & band".into(),
        description: "HHV and LHV efficiency of FAC-1".into(),
        y_label: "Efficiency, %".into(),
        start: DAY0,
        end: DAY0 + 4 * 3600,
        series: vec![
            LineSeries {
                name: "HHV efficiency".into(),
                band: Some("HHV 95 % band".into()),
                points: (0..4)
                    .map(|k| point(k, hhv[k], Some((hhv[k] - u[k], hhv[k] + u[k])), true))
                    .rev()
                    .collect(),
            },
            LineSeries {
                name: "LHV efficiency <script>".into(),
                band: None,
                points: (0..4)
                    .map(|k| point(k, hhv[k] + 9.6, None, false))
                    .collect(),
            },
        ],
        width: 720.0,
        height: 320.0,
    }
}

#[test]
fn trend_points_and_band_sit_where_the_arithmetic_says() {
    let chart = trend();
    let svg = chart.render().unwrap();
    assert!(!svg.contains("<script>"), "names are escaped");
    let doc = Document::parse(&svg).unwrap();
    let root = doc.root_element();
    assert_eq!(root.attribute("id"), Some("trend-chart"));
    assert_eq!(root.attribute("role"), Some("img"));
    for id in root.attribute("aria-labelledby").unwrap().split(' ') {
        let n = doc
            .descendants()
            .find(|n| n.attribute("id") == Some(id))
            .unwrap();
        assert!(["title", "desc"].contains(&n.tag_name().name()));
    }
    let title = doc.descendants().find(|n| n.has_tag_name("title")).unwrap();
    assert_eq!(title.text(), Some("Efficiency <trend> & band"));

    let (left, top, w, h) = plot_area(&doc);
    let (min, max) = check_ticks(&y_ticks(&doc), top, h);
    // Data extent including the bands: 83.2 − 1.5 = 81.7 to 86.1 + 9.6 = 95.7.
    assert!(min <= 81.7 && max >= 95.7, "{min}..{max}");

    let circles: Vec<Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle") && n.attribute("data-calculation-id").is_some())
        .collect();
    assert_eq!(circles.len(), 4);
    let hhv = &chart.series[0].points;
    let polygon = doc
        .descendants()
        .find(|n| n.has_tag_name("polygon"))
        .unwrap();
    let vertices: Vec<(f64, f64)> = polygon
        .attribute("points")
        .unwrap()
        .split(' ')
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect();
    assert_eq!(vertices.len(), 8);
    for c in &circles {
        let id = c.attribute("data-calculation-id").unwrap();
        let p = hhv
            .iter()
            .find(|p| p.link.as_ref().unwrap().id == id)
            .unwrap();
        let a = c.parent().unwrap();
        assert!(a.has_tag_name("a"));
        assert_eq!(
            a.attribute("href"),
            Some(p.link.as_ref().unwrap().href.as_str())
        );
        let x = left + (p.time - DAY0) as f64 / (4.0 * 3600.0) * w;
        let y = top + (max - p.value) / (max - min) * h;
        assert!((attr(*c, "cx") - x).abs() < TOL);
        assert!((attr(*c, "cy") - y).abs() < TOL);
        let (lo, hi) = p.bounds.unwrap();
        let at_x: Vec<f64> = vertices
            .iter()
            .filter(|(vx, _)| (vx - x).abs() < TOL)
            .map(|v| v.1)
            .collect();
        assert_eq!(at_x.len(), 2);
        let (y_up, y_down) = (at_x[0].min(at_x[1]), at_x[0].max(at_x[1]));
        assert!((y_up - (top + (max - hi) / (max - min) * h)).abs() < TOL);
        assert!((y_down - (top + (max - lo) / (max - min) * h)).abs() < TOL);
        assert!(y_up < attr(*c, "cy") && attr(*c, "cy") < y_down);
    }

    // LHV: squares without links, on a dashed line; HHV line solid.
    let series: Vec<Node> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("series"))
        .collect();
    assert_eq!(series.len(), 2);
    let line = |g: &Node| {
        g.children()
            .find(|n| n.has_tag_name("polyline"))
            .unwrap()
            .attribute("stroke-dasharray")
            .map(str::to_string)
    };
    assert_eq!(line(&series[0]), None);
    assert!(line(&series[1]).is_some());
    assert_eq!(
        series[1]
            .children()
            .filter(|n| n.has_tag_name("rect"))
            .count(),
        4
    );
    assert!(!series[1].descendants().any(|n| n.has_tag_name("a")));

    let legend: Vec<String> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("legend"))
        .flat_map(|g| g.descendants().filter(|n| n.has_tag_name("text")))
        .map(|n| n.text().unwrap().to_string())
        .collect();
    assert_eq!(
        legend,
        ["HHV efficiency", "HHV 95 % band", "LHV efficiency <script>"]
    );

    let x_ticks: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("x-tick"))
        .map(|n| n.text().unwrap())
        .collect();
    assert_eq!(x_ticks.first(), Some(&"00:00"));
    assert!(x_ticks.contains(&"02:00"));
}

#[test]
fn trend_refuses_bad_input() {
    let mut chart = trend();
    chart.end = chart.start;
    assert!(matches!(
        chart.render(),
        Err(ChartError::EmptyTimeRange { .. })
    ));
    let mut chart = trend();
    chart.series[1].points[2].value = f64::NAN;
    assert_eq!(
        chart.render(),
        Err(ChartError::NonFinite {
            series: "LHV efficiency <script>".into(),
            index: 2
        })
    );
    let mut chart = trend();
    chart.series[0].points[0].time = chart.end + 1;
    assert!(matches!(
        chart.render(),
        Err(ChartError::OutsideTimeRange { index: 0, .. })
    ));
    let mut chart = trend();
    chart.series.iter_mut().for_each(|s| s.points.clear());
    assert_eq!(chart.render(), Err(ChartError::NoData));
}

fn bars() -> StackedBarChart {
    let values = [
        vec![5.1, 4.2, 0.7],
        vec![5.3, 4.1, 0.8],
        vec![4.9, 4.3, -0.4],
    ];
    StackedBarChart {
        id: "loss-chart".into(),
        title: "Losses".into(),
        description: "Losses per hour".into(),
        y_label: "Loss, % of fuel input (HHV)".into(),
        unit: "%".into(),
        start: DAY0,
        end: DAY0 + 3 * 3600,
        categories: vec![
            "Dry flue gas".into(),
            "Water from H₂ & <fuel>".into(),
            "Unaccounted".into(),
        ],
        bars: values
            .iter()
            .enumerate()
            .map(|(k, v)| StackedBar {
                start: DAY0 + 3600 * k as i64,
                end: DAY0 + 3600 * (k as i64 + 1),
                values: v.clone(),
                label: format!("hour {k}"),
                link: Some(PointLink {
                    id: format!("CALC-{k}"),
                    href: format!("/calculations/CALC-{k}"),
                }),
            })
            .collect(),
        width: 720.0,
        height: 320.0,
    }
}

#[test]
fn stacked_bars_add_up_to_their_totals() {
    let chart = bars();
    let svg = chart.render().unwrap();
    let doc = Document::parse(&svg).unwrap();
    assert_eq!(doc.root_element().attribute("role"), Some("img"));
    let (left, top, w, h) = plot_area(&doc);
    let (min, max) = check_ticks(&y_ticks(&doc), top, h);
    // Largest positive stack 5.3 + 4.1 + 0.8 = 10.2; the negative one −0.4.
    assert!(min <= -0.4 && max >= 10.2, "{min}..{max}");
    let y = |v: f64| top + (max - v) / (max - min) * h;

    let groups: Vec<Node> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("bar"))
        .collect();
    assert_eq!(groups.len(), 3);
    let mut fills = Vec::new();
    for (k, g) in groups.iter().enumerate() {
        let bar = &chart.bars[k];
        assert_eq!(
            g.attribute("data-calculation-id"),
            Some(bar.link.as_ref().unwrap().id.as_str())
        );
        assert!(g.parent().unwrap().has_tag_name("a"));
        let rects: Vec<Node> = g.children().filter(|n| n.has_tag_name("rect")).collect();
        assert_eq!(rects.len(), 3);
        let positive: f64 = bar.values.iter().filter(|v| **v > 0.0).sum();
        let negative: f64 = bar.values.iter().filter(|v| **v < 0.0).sum();
        let mut up = y(0.0);
        let mut down = y(0.0);
        let mut up_height = 0.0;
        for (r, v) in rects.iter().zip(&bar.values) {
            let (ry, rh) = (attr(*r, "y"), attr(*r, "height"));
            assert!((rh - v.abs() / (max - min) * h).abs() < 2.0 * TOL);
            if *v > 0.0 {
                assert!(
                    (ry + rh - up).abs() < 2.0 * TOL,
                    "stacked on the previous segment"
                );
                up = ry;
                up_height += rh;
            } else {
                assert!((ry - down).abs() < 2.0 * TOL);
                down = ry + rh;
            }
            let centre = attr(*r, "x") + 0.5 * attr(*r, "width");
            let mid = left + ((bar.start + bar.end) / 2 - DAY0) as f64 / (3.0 * 3600.0) * w;
            assert!((centre - mid).abs() < 2.0 * TOL);
            fills.push(r.attribute("fill").unwrap().to_string());
        }
        assert!((up_height - positive / (max - min) * h).abs() < 4.0 * TOL);
        assert!((up - y(positive)).abs() < 2.0 * TOL);
        assert!((down - y(negative)).abs() < 2.0 * TOL);
    }
    // Each category has its own pattern, defined in the document.
    fills.sort();
    fills.dedup();
    assert_eq!(fills.len(), 3);
    for f in &fills {
        let id = f.trim_start_matches("url(#").trim_end_matches(')');
        assert!(
            doc.descendants()
                .any(|n| n.has_tag_name("pattern") && n.attribute("id") == Some(id))
        );
    }
    let seg_title = groups[0]
        .descendants()
        .filter(|n| n.has_tag_name("title"))
        .nth(2)
        .unwrap();
    assert_eq!(seg_title.text(), Some("Water from H₂ & <fuel>: 4.20 %"));
}

#[test]
fn stacked_bars_refuse_bad_input() {
    let mut chart = bars();
    chart.bars[1].values.pop();
    assert_eq!(
        chart.render(),
        Err(ChartError::BarShape {
            index: 1,
            values: 2,
            categories: 3
        })
    );
    let mut chart = bars();
    chart.bars[2].values[0] = f64::INFINITY;
    assert!(matches!(
        chart.render(),
        Err(ChartError::NonFinite { index: 2, .. })
    ));
    let mut chart = bars();
    chart.bars[0].start = chart.start - 1;
    assert!(matches!(
        chart.render(),
        Err(ChartError::OutsideTimeRange { index: 0, .. })
    ));
    let mut chart = bars();
    chart.bars.clear();
    assert_eq!(chart.render(), Err(ChartError::NoData));
}
