//! The facility's stored calculations in a period, read once and reduced to what the trend,
//! the loss breakdown and the latest-calculation sections show.

use std::collections::BTreeMap;

use serde_json::Value;
use store::{CalculationFilter, CalculationRecord, CalculationStatus, MAX_PAGE_LIMIT};
use thermo::results::LossKind;

use super::period::{Resolution, Span};
use crate::http::AppState;
use crate::web::WebResult;

/// One stored calculation as the page shows it. Efficiencies and losses in percent of the
/// fuel input on the HHV basis, heat rates in W.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Calculation id.
    pub id: String,
    /// Its period, µs.
    pub span: Span,
    /// Creation time, µs.
    pub created_at_us: i64,
    /// Input–output efficiency, HHV, percent (the stored `efficiency`).
    pub hhv: f64,
    /// Its expanded uncertainty U95, percentage points, when the calculation states one.
    pub u95_hhv: Option<f64>,
    /// Input–output efficiency, LHV, percent.
    pub lhv: Option<f64>,
    /// Energy-balance closure, percent (the stored `energy_balance_percent`).
    pub closure: Option<f64>,
    /// Fuel input, HHV, W.
    pub fuel_input_w: Option<f64>,
    /// Each loss kind summed over the units, W (HHV), in [`LossKind::ALL`] order.
    pub losses_w: Vec<(LossKind, f64)>,
    /// Unaccounted heat summed over the units, W (HHV), signed.
    pub unaccounted_w: Option<f64>,
}

impl Point {
    /// The point of a completed record; `None` for a record without an efficiency.
    pub fn of(record: &CalculationRecord) -> Option<Self> {
        let hhv = record.efficiency?;
        let doc = &record.result;
        let f = |pointer: &str| doc.pointer(pointer).and_then(Value::as_f64);
        let u95_hhv = doc
            .pointer("/summary/uncertainty/figures")
            .and_then(Value::as_array)
            .and_then(|figures| {
                figures
                    .iter()
                    .find(|x| x["figure"] == "direct_hhv")
                    .and_then(|x| x["expanded_uncertainty_percent_points"].as_f64())
            });
        let units = doc
            .get("equipment")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut by_kind: BTreeMap<&str, f64> = BTreeMap::new();
        let mut unaccounted = None;
        for unit in units {
            let balance = &unit["result"]["energy_balance"];
            for loss in balance["losses"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if let (Some(name), Some(w)) = (loss["name"].as_str(), loss["W"]["HHV"].as_f64()) {
                    *by_kind.entry(name).or_default() += w;
                }
            }
            if let Some(w) = balance["unaccounted_W"]["HHV"].as_f64() {
                unaccounted = Some(unaccounted.unwrap_or(0.0) + w);
            }
        }
        let losses_w = LossKind::ALL
            .iter()
            .filter_map(|k| by_kind.get(k.as_str()).map(|w| (*k, *w)))
            .collect();
        Some(Self {
            id: record.id.clone(),
            span: Span {
                start_us: record.period_start_us,
                end_us: record.period_end_us,
            },
            created_at_us: record.created_at_us,
            hhv,
            u95_hhv,
            lhv: f("/summary/efficiency_percent/direct/LHV"),
            closure: record.energy_balance_percent,
            fuel_input_w: f("/summary/fuel_input_W/HHV"),
            losses_w,
            unaccounted_w: unaccounted,
        })
    }

    /// A loss (or the unaccounted rest) in percent of the fuel input, HHV.
    pub fn percent_of_input(&self, w: f64) -> Option<f64> {
        self.fuel_input_w
            .filter(|f| *f > 0.0)
            .map(|f| 100.0 * w / f)
    }

    /// The loss of `kind`, W; zero when the calculation has none of that kind.
    pub fn loss_w(&self, kind: LossKind) -> f64 {
        self.losses_w
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0.0, |(_, w)| *w)
    }

    /// Sum of the losses and the unaccounted rest, W.
    pub fn total_loss_w(&self) -> f64 {
        self.losses_w.iter().map(|(_, w)| w).sum::<f64>() + self.unaccounted_w.unwrap_or(0.0)
    }
}

/// The completed calculations of a facility whose period lies inside `span`, one per
/// period (a period calculated again shows its newest calculation), in time order.
pub async fn points(state: &AppState, facility_id: &str, span: Span) -> WebResult<Vec<Point>> {
    let mut filter = CalculationFilter {
        facility_id: Some(facility_id.to_string()),
        status: Some(CalculationStatus::Completed),
        period_from_us: Some(span.start_us),
        period_to_us: Some(span.end_us),
        limit: Some(MAX_PAGE_LIMIT),
        cursor: None,
    };
    // Export pages run oldest first, so a later calculation of the same period replaces
    // the earlier one.
    let mut newest: BTreeMap<(i64, i64), Point> = BTreeMap::new();
    loop {
        let page = state.store.export_calculations(&filter).await?;
        for p in page.items.iter().filter_map(Point::of) {
            if p.span.start_us >= span.start_us && p.span.end_us <= span.end_us {
                newest.insert((p.span.start_us, p.span.end_us), p);
            }
        }
        match page.next_cursor {
            Some(cursor) => filter.cursor = Some(cursor),
            None => break,
        }
    }
    Ok(newest.into_values().collect())
}

/// The points of one resolution.
pub fn of_resolution(points: &[Point], resolution: Resolution) -> Vec<&Point> {
    points
        .iter()
        .filter(|p| resolution.includes(p.span.duration_us()))
        .collect()
}

/// The calculation the Sankey, benchmark and recommendations show: the one whose period
/// ends last (the newest of those).
pub fn latest(points: &[Point]) -> Option<&Point> {
    points
        .iter()
        .max_by_key(|p| (p.span.end_us, p.created_at_us))
}

/// The last day with readings of a facility: the UTC day of its newest reading of any of
/// `tags`; `None` when it has none. Reads through the store's range query, which returns
/// each tag's last reading before the range start.
pub async fn last_reading_day(
    state: &AppState,
    facility_id: &str,
    tags: &[&str],
) -> WebResult<Option<Span>> {
    let series = state
        .store
        .readings(facility_id, tags, i64::MAX - 1, i64::MAX)
        .await?;
    Ok(series
        .iter()
        .filter_map(|s| s.times_us.last().copied())
        .max()
        .map(Span::day_of))
}
