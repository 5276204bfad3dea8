//! The facility page's two actions, for operators and admins: running calculations through
//! `http::calculation::calculate` (the code path of `POST /v1/thermaliq/calculate`, metrics
//! included) and uploading a CSV of readings through `http::ingest` (the code path of
//! `POST /v1/thermaliq/facilities/{id}/readings`).

use std::time::Instant;

use axum::Form;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use store::{CalculationStatus, Role};

use super::period::{DAY_US, HOUR_US, MAX_DAILY_DAYS, MAX_HOURLY_DAYS, PeriodError, Span};
use super::{PageContext, PageQuery, RunFailure, View, encode, refused_run};
use crate::http::calculation::{self, CalculateRequest, TimePeriod, facility_spec};
use crate::http::ingest::{self, IngestReport, TagSet};
use crate::http::routes::record_calculation;
use crate::http::{ApiError, AppState, format_us};
use crate::web::session::Session;
use crate::web::{WebError, WebResult};

/// The run form.
#[derive(Debug, Deserialize)]
pub struct RunForm {
    /// Start, `YYYY-MM-DDTHH:MM` UTC.
    #[serde(default)]
    pub start: String,
    /// End (exclusive), `YYYY-MM-DDTHH:MM` UTC.
    #[serde(default)]
    pub end: String,
    /// `whole`, `hourly` or `daily`.
    #[serde(default)]
    pub split: String,
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// The period the page showed (`from` of its query), so a refused run shows it again.
    #[serde(default)]
    pub view_from: Option<String>,
    /// The end of the period the page showed.
    #[serde(default)]
    pub view_to: Option<String>,
    /// The resolution the page showed.
    #[serde(default)]
    pub view_resolution: Option<String>,
}

/// How a run divides its period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Split {
    Whole,
    Hourly,
    Daily,
}

impl Split {
    fn parse(value: &str) -> Result<Self, PeriodError> {
        match value {
            "" | "whole" => Ok(Self::Whole),
            "hourly" => Ok(Self::Hourly),
            "daily" => Ok(Self::Daily),
            other => Err(PeriodError::Choice {
                field: "split",
                value: other.to_string(),
                choices: "whole, hourly, daily",
            }),
        }
    }

    /// The pieces of `span`; a split run is capped like the trend that shows it.
    fn pieces(self, span: Span) -> Result<Vec<Span>, PeriodError> {
        match self {
            Self::Whole => Ok(vec![span]),
            Self::Hourly => span
                .at_most("end", "the hourly split", MAX_HOURLY_DAYS)?
                .split(HOUR_US, "hour"),
            Self::Daily => span
                .at_most("end", "the daily split", MAX_DAILY_DAYS)?
                .split(DAY_US, "day"),
        }
    }
}

/// Why a run stopped: the field-named message of a refused form, or the API's answer for
/// one of its calculations.
enum Refusal {
    Form(PeriodError),
    Api {
        piece: Span,
        created: usize,
        error: ApiError,
    },
}

/// Runs every piece in order, as `POST /calculate` would, stopping at the first refusal;
/// returns how many were stored and how many of those failed the closure check, and the
/// single calculation's id for a whole run.
async fn calculate_all(
    state: &AppState,
    facility_id: &str,
    pieces: &[Span],
) -> Result<(usize, usize, Option<String>), Refusal> {
    let (mut created, mut failed, mut last) = (0, 0, None);
    for piece in pieces {
        let req = CalculateRequest {
            facility_id: facility_id.to_string(),
            time_period: TimePeriod {
                start: format_us(piece.start_us),
                end: format_us(piece.end_us),
            },
        };
        let started = Instant::now();
        let outcome = calculation::calculate(state, &req, None).await;
        record_calculation(&outcome, started);
        match outcome {
            Ok(c) => {
                created += 1;
                failed += usize::from(c.status == CalculationStatus::Failed);
                last = Some(c.id);
            }
            Err(error) => {
                return Err(Refusal::Api {
                    piece: *piece,
                    created,
                    error,
                });
            }
        }
    }
    Ok((created, failed, last))
}

/// `POST /facilities/{id}/calculate`: a whole run goes to the new calculation's page, a
/// split run back to the facility page over its period with the count; a refused run shows
/// the page again (422) with the API's message.
pub async fn run(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(id): Path<String>,
    Form(form): Form<RunForm>,
) -> WebResult<Response> {
    ctx.session.require(Role::Operator)?;
    ctx.session.verify_csrf(&form.csrf)?;
    let spec = facility_spec(&state, &id).await?;
    let planned = Split::parse(form.split.trim()).and_then(|split| {
        let span = Span::parse(("start", &form.start), ("end", &form.end))?;
        Ok((split, span, split.pieces(span)?))
    });
    let outcome = match planned {
        Ok((split, span, pieces)) => calculate_all(&state, &id, &pieces)
            .await
            .map(|done| (split, span, done)),
        Err(e) => Err(Refusal::Form(e)),
    };
    let message = match outcome {
        Ok((Split::Whole, _, (_, _, Some(calc_id)))) => {
            return Ok(Redirect::to(&format!("/calculations/{}", encode(&calc_id))).into_response());
        }
        Ok((split, span, (created, failed, _))) => {
            let view = View {
                span,
                resolution: if split == Split::Daily {
                    super::Resolution::Daily
                } else {
                    super::Resolution::Hourly
                },
            };
            let to = format!("{}&created={created}&failed={failed}", view.href(&id));
            return Ok(Redirect::to(&to).into_response());
        }
        Err(Refusal::Form(e)) => format!("{}: {e}", e.field()),
        Err(Refusal::Api { error, .. }) if error.status.is_server_error() => {
            return Err(WebError::Api(error));
        }
        Err(Refusal::Api {
            piece,
            created,
            error,
        }) => {
            let mut m = format!(
                "{} to {}: {}",
                super::period::format_human(piece.start_us),
                super::period::format_human(piece.end_us),
                error.message
            );
            if created > 0 {
                m.push_str(&format!(
                    " ({created} calculation{} of the run stored before it)",
                    if created == 1 { " was" } else { "s were" }
                ));
            }
            m
        }
    };
    let shown = PageQuery {
        from: form.view_from,
        to: form.view_to,
        resolution: form.view_resolution,
        ..PageQuery::default()
    };
    refused_run(
        &state,
        &ctx,
        &spec,
        &shown,
        RunFailure {
            start: form.start,
            end: form.end,
            split: form.split,
            message,
        },
    )
    .await
}

/// `POST /facilities/{id}/readings`: a `text/csv` body in the API's CSV format, stored
/// whole or refused whole; answers the API's ingest report as JSON. Sent by `app.js` with
/// the session's CSRF token in `x-csrf-token`.
pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> WebResult<Json<IngestReport>> {
    session.require(Role::Operator)?;
    session.verify_csrf_header(&headers)?;
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("text/csv"));
    if !csv {
        return Err(WebError::Api(ApiError::bad_request(
            "unsupported_media_type",
            "readings are uploaded as text/csv with the header time,tag,value[,quality]",
        )));
    }
    let limit = state.settings.current().body_limit;
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::too_large(limit))?;
    let spec = facility_spec(&state, &id).await?;
    let checked = ingest::check_csv(&bytes, &TagSet::of(&spec))?;
    Ok(Json(
        ingest::store_checked(&state.store, &id, checked, false).await?,
    ))
}
