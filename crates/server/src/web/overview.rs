//! `GET /facilities`: every facility with its latest completed calculation — efficiency HHV
//! and LHV, closure, data quality — its status and equipment flags; sorted and filtered on
//! the server, so it works without the script.

use std::cmp::Ordering;

use axum::extract::{Query, State};
use axum::response::Html;
use maud::{Markup, html};
use serde::Deserialize;
use store::{CalculationFilter, CalculationStatus, EquipmentFlag, FacilityRecord};

use super::error::{WebError, WebResult};
use super::layout::{self, PageContext};
use super::sections::f;
use super::units::percent;
use crate::http::AppState;

/// Query of `GET /facilities`.
#[derive(Debug, Default, Deserialize)]
pub struct OverviewQuery {
    /// Substring of the facility's id or name, case-insensitive.
    #[serde(default)]
    pub q: String,
    /// Only facilities with this status (`ok`, `flagged`, `stale`, `none`); all when empty.
    #[serde(default)]
    pub status: String,
    /// Column to sort by (see [`Column`]); the facility when empty.
    #[serde(default)]
    pub sort: String,
    /// `asc` (default) or `desc`.
    #[serde(default)]
    pub dir: String,
}

/// A facility's state at a glance; never shown by colour alone (text and icon).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// A completed calculation, no flags, the spec unchanged since.
    Ok,
    /// The facility's spec changed after its latest calculation.
    Stale,
    /// At least one equipment unit is flagged.
    Flagged,
    /// No completed calculation yet.
    None,
}

impl Status {
    const ALL: [Status; 4] = [Status::Ok, Status::Stale, Status::Flagged, Status::None];

    /// The filter value.
    fn code(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Stale => "stale",
            Self::Flagged => "flagged",
            Self::None => "none",
        }
    }

    /// The text shown.
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Stale => "Stale",
            Self::Flagged => "Flagged",
            Self::None => "No calculation",
        }
    }

    /// A symbol beside the text, hidden from screen readers (the text says it).
    fn icon(self) -> &'static str {
        match self {
            Self::Ok => "✓",
            Self::Stale => "↻",
            Self::Flagged => "⚑",
            Self::None => "∅",
        }
    }
}

/// A sortable column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Facility,
    Hhv,
    Lhv,
    Closure,
    Quality,
    Status,
}

impl Column {
    const ALL: [(Column, &'static str, &'static str); 6] = [
        (Column::Facility, "facility", "Facility"),
        (Column::Hhv, "hhv", "Efficiency HHV"),
        (Column::Lhv, "lhv", "Efficiency LHV"),
        (Column::Closure, "closure", "Closure"),
        (Column::Quality, "quality", "Data quality"),
        (Column::Status, "status", "Status"),
    ];

    fn parse(value: &str) -> WebResult<Self> {
        if value.is_empty() {
            return Ok(Self::Facility);
        }
        Self::ALL
            .iter()
            .find(|(_, code, _)| *code == value)
            .map(|(c, _, _)| *c)
            .ok_or_else(|| WebError::Invalid {
                field: "sort".into(),
                message: format!(
                    "\"{value}\" is not a column; choose facility, hhv, lhv, closure, quality \
                     or status"
                ),
            })
    }
}

/// One row of the table.
struct Row {
    facility: FacilityRecord,
    calculation_id: Option<String>,
    hhv: Option<f64>,
    lhv: Option<f64>,
    closure: Option<f64>,
    quality: Option<f64>,
    status: Status,
    flags: Vec<EquipmentFlag>,
}

impl Row {
    fn key(&self, column: Column) -> Option<f64> {
        match column {
            Column::Hhv => self.hhv,
            Column::Lhv => self.lhv,
            Column::Closure => self.closure,
            Column::Quality => self.quality,
            Column::Facility | Column::Status => None,
        }
    }
}

/// A facility's row: its newest completed calculation (by creation) and its flags.
async fn row(state: &AppState, facility: FacilityRecord) -> WebResult<Row> {
    let latest = state
        .store
        .calculations(&CalculationFilter {
            facility_id: Some(facility.id.clone()),
            status: Some(CalculationStatus::Completed),
            limit: Some(1),
            ..CalculationFilter::default()
        })
        .await?
        .items
        .into_iter()
        .next();
    let flags = state.store.equipment_flags(&facility.id).await?;
    let record = match &latest {
        Some(summary) => state.store.calculation(&summary.id).await?,
        None => None,
    };
    let doc = record.as_ref().map(|r| &r.result);
    let status = match &latest {
        None => Status::None,
        Some(_) if !flags.is_empty() => Status::Flagged,
        Some(c) if facility.updated_at_us > c.created_at_us => Status::Stale,
        Some(_) => Status::Ok,
    };
    Ok(Row {
        calculation_id: latest.as_ref().map(|c| c.id.clone()),
        hhv: latest.as_ref().and_then(|c| c.efficiency),
        lhv: doc.and_then(|d| f(d, "/summary/efficiency_percent/direct/LHV")),
        closure: doc.and_then(|d| f(d, "/summary/closure_percent/HHV")),
        quality: doc.and_then(|d| f(d, "/data_quality/score")),
        status,
        flags,
        facility,
    })
}

/// `GET /facilities`: the table, filtered by `q` and `status`, sorted by `sort` and `dir`.
pub async fn page(
    State(state): State<AppState>,
    ctx: PageContext,
    Query(query): Query<OverviewQuery>,
) -> WebResult<Html<String>> {
    let column = Column::parse(&query.sort)?;
    let descending = match query.dir.as_str() {
        "" | "asc" => false,
        "desc" => true,
        other => {
            return Err(WebError::Invalid {
                field: "dir".into(),
                message: format!("\"{other}\" is not a direction; choose asc or desc"),
            });
        }
    };
    let wanted = match query.status.as_str() {
        "" => None,
        code => Some(
            Status::ALL
                .into_iter()
                .find(|s| s.code() == code)
                .ok_or_else(|| WebError::Invalid {
                    field: "status".into(),
                    message: format!(
                        "\"{code}\" is not a status; choose ok, stale, flagged or none"
                    ),
                })?,
        ),
    };
    let needle = query.q.trim().to_lowercase();
    let mut rows = Vec::new();
    for facility in state.store.facilities().await? {
        let matches = needle.is_empty()
            || facility.id.to_lowercase().contains(&needle)
            || facility.name.to_lowercase().contains(&needle);
        if matches {
            let row = row(&state, facility).await?;
            if wanted.is_none_or(|w| w == row.status) {
                rows.push(row);
            }
        }
    }
    rows.sort_by(|a, b| {
        let order = match column {
            Column::Facility => a.facility.name.cmp(&b.facility.name),
            Column::Status => a.status.cmp(&b.status),
            // Missing numbers sort last whichever the direction.
            _ => match (a.key(column), b.key(column)) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => return Ordering::Less,
                (None, Some(_)) => return Ordering::Greater,
                (None, None) => Ordering::Equal,
            },
        };
        let order = if descending { order.reverse() } else { order };
        order.then_with(|| a.facility.id.cmp(&b.facility.id))
    });
    let body = html! {
        h1 { "Facilities" }
        (filter_form(&query))
        (layout::scroll("Facilities table", table(&rows, &query, column, descending)))
    };
    Ok(Html(layout::page("Facilities", &ctx, body).into_string()))
}

fn filter_form(query: &OverviewQuery) -> Markup {
    html! {
        form #facility-filter method="get" action="/facilities" role="search" {
            label for="filter-q" { "Facility id or name contains" }
            input #filter-q type="search" name="q" value=(query.q);
            label for="filter-status" { "Status" }
            select #filter-status name="status" {
                option value="" selected[query.status.is_empty()] { "Any" }
                @for s in Status::ALL {
                    option value=(s.code()) selected[query.status == s.code()] { (s.label()) }
                }
            }
            @if !query.sort.is_empty() { input type="hidden" name="sort" value=(query.sort); }
            @if !query.dir.is_empty() { input type="hidden" name="dir" value=(query.dir); }
            button type="submit" { "Filter" }
        }
    }
}

/// The address of the table sorted by `code` in `dir`, keeping the filter.
fn sort_link(query: &OverviewQuery, code: &str, dir: &str) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    if !query.q.is_empty() {
        form.append_pair("q", &query.q);
    }
    if !query.status.is_empty() {
        form.append_pair("status", &query.status);
    }
    form.append_pair("sort", code);
    form.append_pair("dir", dir);
    format!("/facilities?{}", form.finish())
}

fn table(rows: &[Row], query: &OverviewQuery, sorted: Column, descending: bool) -> Markup {
    html! {
        table #facilities {
            caption { "Facilities with their latest completed calculation ("
                (rows.len()) " shown). Select a column heading to sort." }
            thead { tr {
                @for (column, code, label) in Column::ALL {
                    @let active = column == sorted;
                    @let next_dir = if active && !descending { "desc" } else { "asc" };
                    @let aria = active.then_some(if descending { "descending" } else { "ascending" });
                    th scope="col" aria-sort=[aria] {
                        a href=(sort_link(query, code, next_dir)) {
                            (label)
                            @if active { span aria-hidden="true" { @if descending { " ▼" } @else { " ▲" } } }
                        }
                    }
                }
                th scope="col" { "Flags" }
            } }
            tbody {
                @if rows.is_empty() {
                    tr { td colspan="7" { "No facility matches. Apply one with "
                        code { "thermaliq facility apply" } " or clear the filter." } }
                }
                @for r in rows {
                    tr data-facility-id=(r.facility.id) {
                        td { a href={ "/facilities/" (r.facility.id) } { (r.facility.name) }
                            " " span.muted { "(" (r.facility.id) ")" } }
                        td.n { (percent(r.hhv)) }
                        td.n { (percent(r.lhv)) }
                        td.n { (percent(r.closure)) }
                        td.n { @match r.quality { Some(q) => (format!("{q:.2}")), None => "—" } }
                        td class={ "status status-" (r.status.code()) } {
                            span aria-hidden="true" { (r.status.icon()) " " }
                            (r.status.label())
                            @if let Some(id) = &r.calculation_id {
                                " " a.muted href={ "/calculations/" (id) } aria-label={ "Latest calculation of " (r.facility.name) } { "latest" }
                            }
                        }
                        td.flags {
                            @if r.flags.is_empty() { "—" }
                            @for flag in &r.flags {
                                span.flag { "⚑ " (flag.equipment_id) ": " (flag.reason) } " "
                            }
                        }
                    }
                }
            }
        }
    }
}
