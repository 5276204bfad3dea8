//! The facility page through the real router over HTTP, on SQLite and PostgreSQL, with the
//! demo facility and its forward-model readings: the default period, running hourly and
//! whole calculations from the form, the trend and loss charts against the stored
//! documents, the analysis sections, the SI / US switch, uploads, refusals (bad input,
//! CSRF, viewers) and escaping.

mod web_support;

use reqwest::StatusCode;
use serde_json::Value;
use server::demo;
use server::http::demo_setup::DEMO_SEED;
use server::http::facilities;
use store::{CalculationFilter, CalculationRecord};
use web_support::{WebApp, hidden};

/// 2025-11-01T00:00:00Z, µs.
const DAY0_US: i64 = 1_761_955_200_000_000;
/// One hour, µs.
const HOUR_US: i64 = 3_600_000_000;
/// The International Table Btu, J (exact by definition: 1 Btu/lb = 2.326 kJ/kg).
const BTU_J: f64 = 1_055.055_852_62;
/// The demo facility's page.
const PAGE: &str = "/facilities/FAC-DEMO-001";

/// The demo facility with `hours` of its 1 Hz readings from `start_us`.
async fn demo_data(app: &WebApp, start_us: i64, hours: u32) {
    facilities::apply(&app.store, &demo::facility_spec())
        .await
        .expect("demo facility");
    let readings = demo::readings(start_us, hours * 3600, DEMO_SEED).expect("demo data");
    app.store
        .insert_readings(demo::FACILITY_ID, &readings)
        .await
        .expect("readings");
}

/// A service on a fresh SQLite store (the clients need the TLS provider installed).
async fn sqlite() -> WebApp {
    connectors::install_tls_provider();
    web_support::sqlite().await
}

/// A service on a fresh PostgreSQL database.
async fn postgres() -> WebApp {
    connectors::install_tls_provider();
    web_support::postgres("facility").await
}

/// Status and body of a GET.
async fn get(app: &WebApp, path: &str, cookies: &str) -> (StatusCode, String) {
    let r = app.get(path, cookies).await;
    (r.status(), r.text().await.expect("body"))
}

/// The text inside the element with `id` (up to its first child tag or end tag).
fn text_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the page"));
    let rest = &html[at..];
    let open = rest.find('>').expect("tag end") + 1;
    let rest = &rest[open..];
    rest[..rest.find("</").expect("end tag")].to_string()
}

/// The opening tag of the element with `id`.
fn tag_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the page"));
    let start = html[..at].rfind('<').expect("tag start");
    html[start..at + html[at..].find('>').expect("tag end") + 1].to_string()
}

/// The `<svg>` element with `id`, as text.
fn svg(html: &str, id: &str) -> String {
    let at = html
        .find(&format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{id}\""
        ))
        .unwrap_or_else(|| panic!("no svg#{id}"));
    let end = html[at..].find("</svg>").expect("svg end") + at + "</svg>".len();
    html[at..end].to_string()
}

/// The `<table>` element with `id`, as text.
fn table(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table#{id}"));
    let end = html[at..].find("</table>").expect("table end") + at;
    html[at..end].to_string()
}

/// Every `span.qty` of a page: kind, SI value, displayed number and unit.
fn quantities(html: &str) -> Vec<(String, f64, f64, String)> {
    html.split("<span class=\"qty\" ")
        .skip(1)
        .map(|s| {
            let attr = |name: &str| {
                let m = format!("{name}=\"");
                let a = s.find(&m).unwrap_or_else(|| panic!("no {name} in {s}")) + m.len();
                s[a..a + s[a..].find('"').unwrap()].to_string()
            };
            let body = &s[s.find('>').unwrap() + 1..s.find("</span>").unwrap()];
            let (number, unit) = body.split_once(' ').expect("number and unit");
            (
                attr("data-kind"),
                attr("data-si").parse().unwrap(),
                number.parse().unwrap(),
                unit.to_string(),
            )
        })
        .collect()
}

/// Stored calculations of the demo facility, oldest first.
async fn stored(app: &WebApp) -> Vec<CalculationRecord> {
    app.store
        .export_calculations(&CalculationFilter {
            facility_id: Some(demo::FACILITY_ID.into()),
            limit: Some(500),
            ..CalculationFilter::default()
        })
        .await
        .expect("calculations")
        .items
}

/// A number of a stored document.
fn f(doc: &Value, pointer: &str) -> f64 {
    doc.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no {pointer}"))
}

/// The y coordinate of value `v` on a chart: read the plot area and the first and last tick
/// labels, then y = top + (max − v)/(max − min)·height.
fn chart_y(doc: &roxmltree::Document, v: f64) -> f64 {
    let area = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("plot-area"))
        .expect("plot area");
    let num = |n: roxmltree::Node, a: &str| n.attribute(a).unwrap().parse::<f64>().unwrap();
    let ticks: Vec<f64> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("y-tick"))
        .map(|n| n.text().unwrap().parse().unwrap())
        .collect();
    let (min, max) = (ticks[0], ticks[ticks.len() - 1]);
    num(area, "y") + (max - v) / (max - min) * num(area, "height")
}

/// The operator's flow on one backend: default period, hourly and whole runs, the trend and
/// loss charts, the analysis sections, units, uploads and refusals.
async fn operator_flow(app: &WebApp) {
    demo_data(app, DAY0_US, 4).await;
    let (session, _) = app.sign_in(&app.operator).await;

    // Default: the day of the newest reading, hourly, nothing calculated yet.
    let (status, html) = get(app, PAGE, &session).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains(
            "id=\"from\" type=\"datetime-local\" name=\"from\" value=\"2025-11-01T00:00\""
        )
    );
    assert!(
        html.contains("id=\"to\" type=\"datetime-local\" name=\"to\" value=\"2025-11-02T00:00\"")
    );
    assert!(text_of(&html, "trend-empty").contains("hourly"));
    assert!(!html.contains("id=\"role-note\""));
    assert!(html.contains("<form id=\"run-calculation\""));
    assert!(html.contains("<form id=\"upload-readings\""));
    assert!(text_of(&html, "connectors-none").contains("No connectors configured"));
    let csrf = hidden(&html, "csrf");

    // Three hours split hourly: back to the page over that period with the count.
    let r = app
        .post_form(
            &format!("{PAGE}/calculate"),
            &session,
            &[
                ("start", "2025-11-01T00:00"),
                ("end", "2025-11-01T03:00"),
                ("split", "hourly"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        location,
        format!(
            "{PAGE}?from=2025-11-01T00:00&to=2025-11-01T03:00&resolution=hourly&created=3&failed=0"
        )
    );
    let records = stored(app).await;
    assert_eq!(records.len(), 3);
    for (k, r) in records.iter().enumerate() {
        assert_eq!(r.period_start_us, DAY0_US + k as i64 * HOUR_US);
        assert_eq!(r.period_end_us - r.period_start_us, HOUR_US);
    }

    let (status, html) = get(app, &location, &session).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text_of(&html, "flash").trim(), "3 calculations created.");
    assert!(tag_of(&html, "flash").contains("role=\"status\""));

    // Trend: one linked circle per calculation at its efficiency, inside its band; the table
    // lists the stored numbers.
    let trend = svg(&html, "trend-chart");
    let doc = roxmltree::Document::parse(&trend).expect("the trend SVG parses");
    assert_eq!(doc.root_element().attribute("role"), Some("img"));
    let circles: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle") && n.attribute("data-calculation-id").is_some())
        .collect();
    assert_eq!(circles.len(), 3);
    let rows = table(&html, "trend-table");
    for r in &records {
        let c = circles
            .iter()
            .find(|c| c.attribute("data-calculation-id") == Some(r.id.as_str()))
            .expect("a point per calculation");
        assert_eq!(
            c.parent().unwrap().attribute("href"),
            Some(format!("/calculations/{}", r.id).as_str())
        );
        let hhv = r.efficiency.unwrap();
        let cy: f64 = c.attribute("cy").unwrap().parse().unwrap();
        assert!(
            (cy - chart_y(&doc, hhv)).abs() < 0.011,
            "{cy} vs {}",
            chart_y(&doc, hhv)
        );
        let u95 = r.result["summary"]["uncertainty"]["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["figure"] == "direct_hhv")
            .unwrap()["expanded_uncertainty_percent_points"]
            .as_f64()
            .unwrap();
        assert!(u95 > 0.0);
        let lhv = f(&r.result, "/summary/efficiency_percent/direct/LHV");
        let row_at = rows
            .find(&format!("data-calculation-id=\"{}\"", r.id))
            .expect("a row");
        let row = &rows[row_at..row_at + rows[row_at..].find("</tr>").unwrap()];
        for shown in [
            format!("{hhv:.2} %"),
            format!("± {u95:.2} pp"),
            format!("{lhv:.2} %"),
        ] {
            assert!(row.contains(&shown), "{shown} not in {row}");
        }
    }
    assert_eq!(rows.matches("<tr data-calculation-id=").count(), 3);
    assert!(trend.contains("HHV 95 % uncertainty band"));

    // Losses: one bar per calculation whose segments add up to the document's losses and
    // unaccounted rest in percent of the fuel input (HHV).
    let losses = svg(&html, "loss-chart");
    let ldoc = roxmltree::Document::parse(&losses).expect("the loss SVG parses");
    let zero = chart_y(&ldoc, 0.0);
    for r in &records {
        let bar = ldoc
            .descendants()
            .find(|n| {
                n.attribute("class") == Some("bar")
                    && n.attribute("data-calculation-id") == Some(r.id.as_str())
            })
            .expect("a bar per calculation");
        let fuel = f(&r.result, "/summary/fuel_input_W/HHV");
        let mut lost = 0.0;
        for unit in r.result["equipment"].as_array().unwrap() {
            for loss in unit["result"]["energy_balance"]["losses"]
                .as_array()
                .unwrap()
            {
                lost += f(loss, "/W/HHV");
            }
            lost += f(unit, "/result/energy_balance/unaccounted_W/HHV").max(0.0);
        }
        let top = bar
            .children()
            .filter(|n| n.has_tag_name("rect"))
            .map(|n| n.attribute("y").unwrap().parse::<f64>().unwrap())
            .fold(f64::INFINITY, f64::min);
        let expected = chart_y(&ldoc, 100.0 * lost / fuel);
        assert!(
            (top - expected).abs() < 0.05,
            "stack top {top} vs {expected}"
        );
        assert!(top < zero);
    }
    assert_eq!(
        table(&html, "loss-table")
            .matches("<tr data-calculation-id=")
            .count(),
        3
    );

    // The latest calculation (02:00–03:00): its Sankey, benchmark and recommendations.
    let latest = &records[2];
    assert!(html.contains(&format!(
        "id=\"sankey-link\" href=\"/calculations/{}\"",
        latest.id
    )));
    let sankey = &html[html.find("<section id=\"sankey\"").unwrap()..];
    let sankey_svg = &sankey[sankey.find("<svg").unwrap()..sankey.find("</svg>").unwrap() + 6];
    roxmltree::Document::parse(sankey_svg).expect("the Sankey SVG parses");
    assert!(sankey_svg.contains("Energy flows (HHV basis)"));
    let bench = table(&html, "benchmark-table");
    for unit in latest.result["equipment"].as_array().unwrap() {
        assert!(bench.contains(&format!(
            "data-equipment-id=\"{}\"",
            unit["equipment_id"].as_str().unwrap()
        )));
    }
    let recs = &html[html.find("<section id=\"recommendations\"").unwrap()..];
    let recs = &recs[..recs.find("</section>").unwrap()];
    // The ranking's header row and at most three measures.
    let items = recs.matches("<tr>").count() - 1;
    assert!((1..=3).contains(&items), "{recs}");

    // Every quantity shown in US customary is the SI value converted with independent
    // factors (1 Btu = 1055.05585262 J, 1 h = 3600 s, °F = °C × 1.8 + 32); percentages do
    // not change.
    let (_, us) = get(app, &location, &format!("{session}; thermaliq_units=us")).await;
    let (si_q, us_q) = (quantities(&html), quantities(&us));
    assert!(si_q.len() >= 6, "{si_q:?}");
    assert_eq!(si_q.len(), us_q.len());
    for ((kind, si, si_shown, si_unit), (kind_us, si_us, us_shown, us_unit)) in
        si_q.iter().zip(&us_q)
    {
        assert_eq!((kind, si), (kind_us, si_us));
        let (si_expected, us_expected) = match (kind.as_str(), si_unit.as_str(), us_unit.as_str()) {
            ("temperature", "°C", "°F") => (si - 273.15, (si - 273.15) * 1.8 + 32.0),
            ("temperature_difference", "K", "°F") => (*si, si * 1.8),
            ("power", "MW", "MMBtu/h") => (si / 1e6, si * 3600.0 / (BTU_J * 1e6)),
            ("power", "kW", "kBtu/h") => (si / 1e3, si * 3600.0 / (BTU_J * 1e3)),
            ("power", "kW", "MMBtu/h") => (si / 1e3, si * 3600.0 / (BTU_J * 1e6)),
            ("energy", "GJ", "MMBtu") => (si / 1e9, si / (BTU_J * 1e6)),
            ("energy", "MJ", "MMBtu") => (si / 1e6, si / (BTU_J * 1e6)),
            other => panic!("unexpected units {other:?}"),
        };
        for (shown, expected) in [(si_shown, si_expected), (us_shown, us_expected)] {
            assert!(
                (shown - expected).abs() <= 6e-4 * expected.abs(),
                "{kind}: {shown} vs {expected}"
            );
        }
    }
    let percents = |h: &str| -> Vec<String> {
        h.split("data-kind=\"percent\">")
            .skip(1)
            .map(|s| s[..s.find('<').unwrap()].to_string())
            .collect()
    };
    assert_eq!(percents(&html), percents(&us));
    assert!(!percents(&html).is_empty());

    // A whole run: the new calculation's page.
    let r = app
        .post_form(
            &format!("{PAGE}/calculate"),
            &session,
            &[
                ("start", "2025-11-01T03:00"),
                ("end", "2025-11-01T04:00"),
                ("split", "whole"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let records = stored(app).await;
    assert_eq!(records.len(), 4);
    assert_eq!(
        r.headers()["location"],
        format!("/calculations/{}", records[3].id).as_str()
    );

    // Refused runs: the page again, 422, with the reason naming the field or the API's.
    for (form, expected) in [
        (
            ["2025-11-01T03:00", "2025-11-01T02:00", "whole"],
            "end: the end 2025-11-01T02:00 is not after the start",
        ),
        (
            ["2025-11-01T00:00", "2025-11-01T01:30", "hourly"],
            "end: the period is not a whole number of hours",
        ),
        (
            ["2025-10-01T00:00", "2025-11-10T00:00", "hourly"],
            "end: the period is 40.0 days; the hourly split covers at most 31 days",
        ),
        (
            ["2025-11-01T00:00", "2025-11-01T01:00", "weekly"],
            "split: \"weekly\" is not one of whole, hourly, daily",
        ),
        (
            ["yesterday", "2025-11-01T01:00", "whole"],
            "start: \"yesterday\" is not a date and time",
        ),
    ] {
        let r = app
            .post_form(
                &format!("{PAGE}/calculate"),
                &session,
                &[
                    ("start", form[0]),
                    ("end", form[1]),
                    ("split", form[2]),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
        let body = r.text().await.unwrap();
        assert!(tag_of(&body, "run-error").contains("role=\"alert\""));
        let message = text_of(&body, "run-error").replace("&quot;", "\"");
        assert!(message.starts_with(expected), "{form:?}: {message}");
        assert!(
            body.contains(&format!("value=\"{}\"", form[0])),
            "the values sent are kept"
        );
    }
    // A period without readings: the API's own message for the same request.
    let api: Value = reqwest::Client::new()
        .post(format!("{}/v1/thermaliq/calculate", app.root))
        .bearer_auth(&app.operator)
        .json(&serde_json::json!({"facility_id": "FAC-DEMO-001",
            "time_period": {"start": "2025-10-01T00:00:00Z", "end": "2025-10-01T01:00:00Z"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api_message = api["error"]["message"]
        .as_str()
        .expect("the API refuses")
        .to_string();
    let r = app
        .post_form(
            &format!("{PAGE}/calculate"),
            &session,
            &[
                ("start", "2025-10-01T00:00"),
                ("end", "2025-10-01T01:00"),
                ("split", "whole"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert_eq!(
        text_of(&body, "run-error").replace("&quot;", "\""),
        format!("2025-10-01 00:00 UTC to 2025-10-01 01:00 UTC: {api_message}")
    );
    // A refused run comes back on the period and resolution the page showed.
    let r = app
        .post_form(
            &format!("{PAGE}/calculate"),
            &session,
            &[
                ("start", "2025-11-01T03:00"),
                ("end", "2025-11-01T02:00"),
                ("split", "whole"),
                ("csrf", &csrf),
                ("view_from", "2025-10-31T00:00"),
                ("view_to", "2025-11-02T00:00"),
                ("view_resolution", "daily"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    let chooser = &body[body.find("id=\"period\"").expect("form#period")..];
    let chooser = &chooser[..chooser.find("</form>").unwrap()];
    assert!(chooser.contains("value=\"2025-10-31T00:00\""), "{chooser}");
    assert!(chooser.contains("value=\"2025-11-02T00:00\""), "{chooser}");
    assert!(chooser.contains("value=\"daily\" selected"), "{chooser}");
    assert_eq!(stored(app).await.len(), 4, "nothing stored by refused runs");

    // CSRF: missing or wrong → 403, nothing run.
    for token in ["", "00"] {
        let r = app
            .post_form(
                &format!("{PAGE}/calculate"),
                &session,
                &[
                    ("start", "2025-11-01T00:00"),
                    ("end", "2025-11-01T01:00"),
                    ("split", "whole"),
                    ("csrf", token),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }

    // Upload: the API's CSV format, stored, counts answered; CSRF and format checked.
    let csv = "time,tag,value,quality\n2025-10-31T05:00:00Z,FT-101,1510,good\n2025-10-31T05:00:10Z,FT-101,1512.5,good\n";
    let before = app.store.reading_count(demo::FACILITY_ID).await.unwrap();
    let client = reqwest::Client::new();
    let upload = |token: &str, content_type: &str, body: &str| {
        client
            .post(format!("{}{PAGE}/readings", app.root))
            .header("cookie", &session)
            .header("x-csrf-token", token)
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
    };
    let r = upload(&csrf, "text/csv", csv).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let report: Value = r.json().await.unwrap();
    assert_eq!(
        (
            report["received"].as_u64(),
            report["inserted"].as_u64(),
            report["rejected"].as_u64()
        ),
        (Some(2), Some(2), Some(0))
    );
    assert_eq!(
        app.store.reading_count(demo::FACILITY_ID).await.unwrap(),
        before + 2
    );
    let r = upload(&csrf, "text/csv", csv).await.unwrap();
    let report: Value = r.json().await.unwrap();
    assert_eq!(
        report["unchanged"].as_u64(),
        Some(2),
        "the same file again changes nothing"
    );
    let r = upload("wrong", "text/csv", csv).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = upload(&csrf, "application/json", "{}").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = upload(
        &csrf,
        "text/csv",
        "time,tag,value\n2025-10-31T05:00:00Z,NO-SUCH-TAG,1\n",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("id=\"error-message\""));
    assert_eq!(
        app.store.reading_count(demo::FACILITY_ID).await.unwrap(),
        before + 2
    );

    // Bad page queries name their field; an unknown facility is a 404 page.
    for (query, field) in [
        (
            "?from=2025-11-01T00:00&to=nonsense",
            "to: \"nonsense\" is not a date and time",
        ),
        ("?from=2025-11-02T00:00&to=2025-11-01T00:00", "to: the end"),
        (
            "?from=2025-10-01T00:00&to=2025-11-02T00:00&resolution=hourly",
            "to: the period is 32.0 days; hourly resolution covers at most 31 days",
        ),
        (
            "?resolution=weekly",
            "resolution: \"weekly\" is not one of hourly, daily",
        ),
    ] {
        let (status, body) = get(app, &format!("{PAGE}{query}"), &session).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        let message = text_of(&body, "error-message").replace("&quot;", "\"");
        assert!(message.starts_with(field), "{query}: {message}");
    }
    let (status, _) = get(
        app,
        "/facilities/FAC-DEMO-001?from=2025-10-01T00:00&to=2025-11-02T00:00&resolution=daily",
        &session,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "a month is fine daily");
    let (status, body) = get(app, "/facilities/NO-SUCH", &session).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("NO-SUCH"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_flow_on_sqlite() {
    operator_flow(&sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_flow_on_postgres() {
    operator_flow(&postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_period_is_the_day_of_the_newest_reading() {
    let app = sqlite().await;
    demo_data(&app, DAY0_US, 1).await;
    let readings = demo::readings(DAY0_US + 24 * HOUR_US + 5 * HOUR_US, 60, DEMO_SEED).unwrap();
    app.store
        .insert_readings(demo::FACILITY_ID, &readings)
        .await
        .unwrap();
    let (session, _) = app.sign_in(&app.operator).await;
    let (status, html) = get(&app, PAGE, &session).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("name=\"from\" value=\"2025-11-02T00:00\""),
        "the later day"
    );
    assert!(html.contains("name=\"to\" value=\"2025-11-03T00:00\""));
    // The run form starts from the same period.
    assert!(html.contains("name=\"start\" value=\"2025-11-02T00:00\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_the_page_but_cannot_run_or_upload() {
    let app = sqlite().await;
    demo_data(&app, DAY0_US, 1).await;
    let (session, _) = app.sign_in(&app.viewer).await;
    let (status, html) = get(&app, PAGE, &session).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        text_of(&html, "role-note"),
        "Your role (viewer) cannot run calculations or upload readings."
    );
    assert!(!html.contains("id=\"run-calculation\""));
    assert!(!html.contains("id=\"upload-readings\""));
    let csrf = hidden(&html, "csrf");
    let r = app
        .post_form(
            &format!("{PAGE}/calculate"),
            &session,
            &[
                ("start", "2025-11-01T00:00"),
                ("end", "2025-11-01T01:00"),
                ("split", "whole"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = reqwest::Client::new()
        .post(format!("{}{PAGE}/readings", app.root))
        .header("cookie", &session)
        .header("x-csrf-token", &csrf)
        .header("content-type", "text/csv")
        .body("time,tag,value\n2025-10-31T05:00:00Z,FT-101,1\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(stored(&app).await.is_empty());
    let before = app.store.reading_count(demo::FACILITY_ID).await.unwrap();
    assert_eq!(before, 3600 * 15);

    // Without a session: the page sends to sign-in, the actions answer 401.
    let r = app.get(PAGE, "").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/login?next=%2Ffacilities%2FFAC-DEMO-001"
    );
    let r = app
        .post_form(&format!("{PAGE}/calculate"), "", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facility_strings_are_shown_as_text() {
    let app = sqlite().await;
    let mut spec = demo::facility_spec();
    spec.name = "<script>alert(1)</script> & \"Boilers\"".into();
    facilities::apply(&app.store, &spec)
        .await
        .expect("facility");
    let (session, _) = app.sign_in(&app.operator).await;
    let (status, html) = get(&app, PAGE, &session).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Boilers&quot;"));
    assert!(text_of(&html, "trend-empty").contains("No hourly calculations"));
}
