//! The browser application's pages through the real router over HTTP: the facilities
//! overview (sorting, filtering, escaping), the calculation page in SI and US customary
//! (every quantity recomputed from its SI value with NIST SP 811 factors, everything else
//! unchanged), the downloads, and the size of a first page load. On SQLite; the store-bound
//! parts also on PostgreSQL.

mod web_support;

use reqwest::StatusCode;
use serde_json::json;
use store::FacilityRecord;
use web_support::{WebApp, hidden};

/// NIST SP 811 (2008), Appendix B.8.
const BTU_J: f64 = 1_055.055_852_62;
const POUND_KG: f64 = 0.453_592_37;
const PSI_PA: f64 = 6_894.757;
const FOOT_M: f64 = 0.3048;
/// CODATA 2018 molar gas constant, J/(mol·K).
const R: f64 = 8.314_462_618;
/// Ideal-gas volume of a mole: a normal m³ at 0 °C and 101.325 kPa (DIN 1343), a standard
/// ft³ at 60 °F and 14.696 psia (GPA 2172).
fn normal_m3_per_mol() -> f64 {
    R * 273.15 / 101_325.0
}
fn scf_per_mol() -> f64 {
    R * (60.0 + 459.67) * 5.0 / 9.0 / (14.696 * PSI_PA) / FOOT_M.powi(3)
}

/// One `span.qty` of a page: kind, SI value, displayed text.
#[derive(Debug)]
struct Qty {
    kind: String,
    si: f64,
    text: String,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    Some(tag[start..].split('"').next()?.to_string())
}

/// Every quantity of a page, and the page with each quantity's span removed.
fn quantities(html: &str) -> (Vec<Qty>, String) {
    let mut found = Vec::new();
    let mut rest = String::new();
    let mut at = 0;
    while let Some(offset) = html[at..].find("<span class=\"qty\"") {
        let start = at + offset;
        rest.push_str(&html[at..start]);
        let open_end = start + html[start..].find('>').unwrap();
        let close = open_end + html[open_end..].find("</span>").unwrap();
        let tag = &html[start..open_end];
        found.push(Qty {
            kind: attr(tag, "data-kind").expect("data-kind"),
            si: attr(tag, "data-si")
                .expect("data-si")
                .parse()
                .expect("an SI number"),
            text: html[open_end + 1..close].to_string(),
        });
        at = close + "</span>".len();
    }
    rest.push_str(&html[at..]);
    (found, rest)
}

/// The US customary value of an SI value with independent factors, for each displayed unit.
fn us_value(kind: &str, si: f64, unit: &str) -> f64 {
    match (kind, unit) {
        ("temperature", "°F") => (si - 273.15) * 9.0 / 5.0 + 32.0,
        ("temperature_difference", "°F") => si * 9.0 / 5.0,
        ("pressure", "psia") => si / PSI_PA,
        ("gauge_pressure", "psig") | ("pressure_difference", "psi") => si / PSI_PA,
        ("standard_volume_flow", "scf/h") => si * 3_600.0 * scf_per_mol(),
        ("area", "ft²") => si / (FOOT_M * FOOT_M),
        ("velocity", "ft/s") => si / FOOT_M,
        ("amount_per_energy", "per MMBtu") => si * 1e6 * BTU_J,
        ("mass_flow", "lb/h") => si * 3_600.0 / POUND_KG,
        ("power", "MMBtu/h") => si * 3_600.0 / BTU_J / 1e6,
        ("power", "kBtu/h") => si * 3_600.0 / BTU_J / 1e3,
        ("energy", "MMBtu") => si / BTU_J / 1e6,
        ("specific_energy", "Btu/lb") => si * POUND_KG / BTU_J,
        ("specific_entropy", "Btu/(lb·°F)") => si * POUND_KG * (5.0 / 9.0) / BTU_J,
        other => panic!("unexpected US display {other:?}"),
    }
}

/// The SI display value of an SI value, for each displayed unit.
fn si_value(kind: &str, si: f64, unit: &str) -> f64 {
    match (kind, unit) {
        ("temperature", "°C") => si - 273.15,
        ("temperature_difference", "K") => si,
        ("pressure", "kPa") | ("gauge_pressure", "kPa(g)") | ("pressure_difference", "kPa") => {
            si / 1e3
        }
        ("standard_volume_flow", "Nm³/h") => si * 3_600.0 * normal_m3_per_mol(),
        ("area", "m²") | ("velocity", "m/s") => si,
        ("amount_per_energy", "per GJ") => si * 1e9,
        ("mass_flow", "kg/h") => si * 3_600.0,
        ("mass_flow", "t/h") => si * 3.6,
        ("power", "kW") => si / 1e3,
        ("power", "MW") => si / 1e6,
        ("energy", "MJ") => si / 1e6,
        ("energy", "GJ") => si / 1e9,
        ("specific_energy", "MJ/kg") => si / 1e6,
        ("specific_entropy", "kJ/(kg·K)") => si / 1e3,
        other => panic!("unexpected SI display {other:?}"),
    }
}

/// Checks a displayed quantity against the expected value within its rounding.
fn check(q: &Qty, expected: impl Fn(&str, f64, &str) -> f64) {
    let (number, unit) = q.text.split_once(' ').expect("NUMBER UNIT");
    let shown: f64 = number.parse().expect("a number");
    let decimals = number.split_once('.').map_or(0, |(_, d)| d.len());
    let want = expected(&q.kind, q.si, unit);
    let half_step = 0.5 * 10f64.powi(-(decimals as i32));
    assert!(
        (shown - want).abs() <= half_step * 1.000_001 + 1e-12,
        "{q:?}: expected {want}"
    );
    // At least three significant figures.
    let digits = number.trim_start_matches('-').replace('.', "");
    assert!(
        digits.trim_start_matches('0').len() >= 3 || shown == 0.0,
        "{q:?}"
    );
}

async fn signed_in(app: &WebApp, token: &str, units: &str) -> String {
    let (session, _) = app.sign_in(token).await;
    format!("{session}; thermaliq_units={units}")
}

/// The overview and calculation pages on one backend.
async fn pages_behave(app: &WebApp) {
    let id = app.demo_calculation().await;
    let stored = app.store.calculation(&id).await.unwrap().unwrap();
    let si = signed_in(app, &app.viewer, "si").await;
    let us = si.replace("thermaliq_units=si", "thermaliq_units=us");

    // Overview: the demo facility with its latest efficiency as stored.
    let html = app.get("/facilities", &si).await.text().await.unwrap();
    assert!(html.contains("<table id=\"facilities\""), "{html}");
    assert!(html.contains("data-facility-id=\"FAC-DEMO-001\""));
    let hhv = format!("{:.2} %", stored.efficiency.unwrap());
    assert!(html.contains(&hhv), "{hhv} missing");
    assert!(html.contains("OK"));
    assert!(html.contains("href=\"/facilities/FAC-DEMO-001\""));
    let html = app
        .get("/facilities?status=none", &si)
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("data-facility-id=\"FAC-DEMO-001\""));

    // Calculation page: every section, in both systems.
    let page_si = app.get(&format!("/calculations/{id}"), &si).await;
    assert_eq!(page_si.status(), StatusCode::OK);
    let page_si = page_si.text().await.unwrap();
    let page_us = app
        .get(&format!("/calculations/{id}"), &us)
        .await
        .text()
        .await
        .unwrap();
    for needle in [
        "id=\"results\"",
        "id=\"inputs\"",
        "id=\"data-quality\"",
        "id=\"sankey\"",
        "<figure id=\"sankey-energy\"",
        "<figure id=\"sankey-exergy\"",
        "id=\"benchmark\"",
        "id=\"recommendations\"",
        "id=\"provenance\"",
        "id=\"download-json\"",
        "id=\"download-csv\"",
        "id=\"download-report\"",
    ] {
        assert!(page_si.contains(needle), "{needle} missing");
    }
    assert!(page_si.contains(&format!(
        "<code class=\"hash\" id=\"provenance-hash\">{}</code>",
        stored.provenance_hash
    )));
    assert!(page_si.contains("<span id=\"units-current\">SI</span>"));
    assert!(page_us.contains("<span id=\"units-current\">US customary</span>"));

    let (q_si, rest_si) = quantities(&page_si);
    let (q_us, rest_us) = quantities(&page_us);
    assert!(q_si.len() > 20, "only {} quantities", q_si.len());
    assert_eq!(q_si.len(), q_us.len());
    let kinds: std::collections::BTreeSet<&str> = q_si.iter().map(|q| q.kind.as_str()).collect();
    for kind in [
        "temperature",
        "power",
        "energy",
        "specific_energy",
        "mass_flow",
    ] {
        assert!(kinds.contains(kind), "no {kind} on the page: {kinds:?}");
    }
    for (a, b) in q_si.iter().zip(&q_us) {
        assert_eq!((a.kind.as_str(), a.si), (b.kind.as_str(), b.si));
        check(a, si_value);
        check(b, us_value);
    }
    // Nothing but the quantities, the Sankey diagrams (their labels follow the switch, see
    // web_units.rs) and the switch's own state changes.
    let strip = |page: &str| {
        page.split("<svg")
            .map(|part| part.split_once("</svg>").map_or(part, |(_, after)| after))
            .collect::<String>()
            .replace("<span id=\"units-current\">SI</span>", "")
            .replace("<span id=\"units-current\">US customary</span>", "")
            .replace("aria-pressed=\"true\"", "")
            .replace("aria-pressed=\"false\"", "")
    };
    assert_eq!(strip(&rest_si), strip(&rest_us));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_on_sqlite() {
    pages_behave(&web_support::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_on_postgres() {
    pages_behave(&web_support::postgres("pages").await).await;
}

#[tokio::test]
async fn the_overview_sorts_filters_and_escapes() {
    let app = web_support::sqlite().await;
    for (id, name) in [
        ("FAC-A", "<script>alert(1)</script> Works"),
        ("FAC-B", "Boiler house B"),
    ] {
        app.store
            .put_facility(&FacilityRecord {
                id: id.into(),
                name: name.into(),
                time_zone: "UTC".into(),
                spec: json!({}),
                equipment_ids: Vec::new(),
                updated_at_us: 1,
            })
            .await
            .unwrap();
    }
    let session = signed_in(&app, &app.viewer, "si").await;
    let html = app.get("/facilities", &session).await.text().await.unwrap();
    assert!(!html.contains("<script>alert"), "a name is markup");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; Works"));
    assert!(html.contains("No calculation"));
    // The signed-in name is text too.
    assert!(html.contains("Vera &lt;viewer&gt;"));
    // Sorted by facility name, ascending by default; the header says so.
    assert!(html.find("FAC-A").unwrap() < html.find("FAC-B").unwrap());
    let html = app
        .get("/facilities?sort=facility&dir=desc", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.find("data-facility-id=\"FAC-B\"").unwrap()
            < html.find("data-facility-id=\"FAC-A\"").unwrap()
    );
    assert!(html.contains("aria-sort=\"descending\""));
    assert!(html.contains("href=\"/facilities?sort=facility&amp;dir=asc\""));
    // Filter by name, case-insensitive; by status.
    let html = app
        .get("/facilities?q=boiler", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-facility-id=\"FAC-B\"") && !html.contains("data-facility-id=\"FAC-A\"")
    );
    let html = app
        .get("/facilities?status=ok", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("data-facility-id="));
    // A bad parameter is named.
    let r = app.get("/facilities?sort=colour", &session).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("sort: "));
}

#[tokio::test]
async fn downloads_are_attachments_behind_the_session() {
    let app = web_support::sqlite().await;
    let id = app.demo_calculation().await;
    let session = signed_in(&app, &app.viewer, "us").await;
    let r = app
        .get(&format!("/calculations/{id}/download.json"), &session)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-disposition"],
        format!("attachment; filename=\"thermaliq-{id}.json\"").as_str()
    );
    let doc: serde_json::Value = r.json().await.unwrap();
    assert_eq!(doc["calculation_id"], id.as_str());
    let r = app
        .get(&format!("/calculations/{id}/download.csv"), &session)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let csv = r.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("calculation_id,facility_id,")
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with(&format!("{id},FAC-DEMO-001,"))
    );
    // The report keeps its stricter policy and stays in SI whatever the cookie says.
    let r = app
        .get(&format!("/calculations/{id}/report"), &session)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let report = r.text().await.unwrap();
    assert!(
        report.contains(" MW<") || report.contains(" kW<"),
        "report not in SI"
    );
    assert!(!report.contains("MMBtu"));
    // Without a session: to the sign-in page.
    let r = app
        .get(&format!("/calculations/{id}/download.json"), "")
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .get("/calculations/CALC-NONE/download.csv", &session)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_first_load_of_the_overview_is_small() {
    let app = web_support::sqlite().await;
    app.demo_calculation().await;
    let session = signed_in(&app, &app.operator, "si").await;
    let html = app.get("/facilities", &session).await.text().await.unwrap();
    let css = app.get("/static/app.css", "").await.bytes().await.unwrap();
    let js = app.get("/static/app.js", "").await.bytes().await.unwrap();
    let total = html.len() + css.len() + js.len();
    assert!(total < 200 * 1024, "{total} bytes");
    // The page's forms carry the session's CSRF token.
    assert_eq!(hidden(&html, "csrf").len(), 64);
}
