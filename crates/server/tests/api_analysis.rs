//! The analysis endpoints of a stored calculation, black-box over the real service: the
//! Sankey diagram (SVG and JSON model) and the benchmark comparison of the demo facility.

mod api_support;

use api_support::{HOUR_US, START_US, TestApp, calc_body, error, json_of, spawn};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Relative tolerance of numbers that must agree to rounding (sums of a dozen f64 terms).
const REL_TOL: f64 = 1e-9;

/// A completed calculation over one hour of demo readings; its id and stored document.
async fn completed(app: &TestApp) -> (String, Value) {
    app.put_demo_facility().await;
    app.store_demo_readings(START_US, 3_600, 4).await;
    let (status, v) = app
        .post(
            "/calculate",
            &app.operator,
            &calc_body(START_US, START_US + HOUR_US),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "completed", "{v}");
    (v["calculation_id"].as_str().unwrap().to_string(), v)
}

fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= REL_TOL * scale.abs().max(1.0)
}

/// The stored unit of `doc` with this id.
fn stored_unit<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["equipment"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["equipment_id"] == id)
        .unwrap_or_else(|| panic!("{id} not in the stored document"))
}

#[tokio::test]
async fn the_sankey_is_an_svg_document() {
    let app = spawn().await;
    let (id, _) = completed(&app).await;
    for query in ["", "?basis=HHV", "?basis=LHV", "?basis=exergy&format=svg"] {
        let r = app
            .call(
                Method::GET,
                &format!("/calculations/{id}/sankey{query}"),
                Some(&app.viewer),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{query}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert_eq!(ct, "image/svg+xml", "{query}");
        let body = r.text().await.unwrap();
        // `file` recognises SVG by the document starting with the `<svg` element.
        assert!(body.starts_with("<svg"), "{query}: {}", &body[..80]);
        let doc = roxmltree::Document::parse(&body).expect("the SVG is well-formed XML");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        assert_eq!(root.attribute("width"), Some("800.00"), "{query}");
    }
}

#[tokio::test]
async fn the_sankey_model_balances_and_carries_the_stored_numbers() {
    let app = spawn().await;
    let (id, doc) = completed(&app).await;
    for basis in ["HHV", "LHV", "exergy"] {
        let (status, model) = app
            .get(
                &format!("/calculations/{id}/sankey?format=json&basis={basis}"),
                &app.viewer,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{model}");
        assert_eq!(model["basis"], basis);
        let reference = model["reference"].as_f64().unwrap();
        assert!(reference > 0.0);
        let nodes = model["nodes"].as_array().unwrap();
        let links = model["links"].as_array().unwrap();
        let flow = |pick: &str, i: usize| -> f64 {
            links
                .iter()
                .filter(|l| l[pick].as_u64() == Some(i as u64))
                .map(|l| l["value"].as_f64().unwrap())
                .sum()
        };
        let units: Vec<usize> = (0..nodes.len())
            .filter(|&i| nodes[i]["column"] == "unit")
            .collect();
        assert_eq!(units.len(), doc["equipment"].as_array().unwrap().len());
        for &i in &units {
            let (inflow, outflow) = (flow("target", i), flow("source", i));
            assert!(
                close(inflow, outflow, reference),
                "{basis} {}: in {inflow} W, out {outflow} W",
                nodes[i]["id"]
            );
            if basis == "HHV" {
                // The re-run units give the stored numbers: the fuel and useful heat of each
                // unit equal the stored unit document's.
                let unit_id = nodes[i]["id"].as_str().unwrap();
                let unit = stored_unit(&doc, unit_id.trim_start_matches("unit:"));
                let balance = &unit["result"]["energy_balance"];
                let value_from = |category: &str, incoming: bool| -> f64 {
                    links
                        .iter()
                        .filter(|l| {
                            l["category"] == category
                                && l[if incoming { "target" } else { "source" }].as_u64()
                                    == Some(i as u64)
                        })
                        .map(|l| l["value"].as_f64().unwrap())
                        .sum()
                };
                let fuel = balance["fuel_input_W"]["HHV"].as_f64().unwrap();
                let useful = balance["useful_output_W"].as_f64().unwrap();
                assert!(close(value_from("fuel", true), fuel, fuel));
                assert!(close(value_from("useful", false), useful, fuel));
            }
        }
    }
}

#[tokio::test]
async fn the_benchmark_ranks_every_unit() {
    let app = spawn().await;
    let (id, doc) = completed(&app).await;
    let (status, b) = app
        .get(&format!("/calculations/{id}/benchmark"), &app.viewer)
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["calculation_id"], id.as_str());
    assert!(b["fuel_price_per_gj"].is_null());
    let assumptions = b["assumptions"].to_string();
    assert!(assumptions.contains("8760"), "{assumptions}");
    assert!(assumptions.contains("economizer"), "{assumptions}");
    let units = b["units"].as_array().unwrap();
    assert_eq!(units.len(), doc["equipment"].as_array().unwrap().len());
    for u in units {
        let c = &u["comparison"];
        assert!(c.is_object(), "{u}");
        let rank = c["percentile_rank"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&rank), "{u}");
        assert!(c["gap_to_median"]["cost_per_year"].is_null(), "{u}");
        assert!(c["annual_fuel_cost"].is_null(), "{u}");
        assert!(c["gap_to_median"]["co2_kg_per_year"].is_number(), "{u}");
        assert!(!c["sources"].as_array().unwrap().is_empty(), "{u}");
        assert!(c["entry"]["basis"].is_string(), "{u}");
        let stored = &stored_unit(&doc, u["equipment_id"].as_str().unwrap())["result"];
        let eff = stored["efficiency_percent"]["direct"]["HHV"]
            .as_f64()
            .unwrap();
        assert!(close(
            c["efficiency_percent_hhv"].as_f64().unwrap(),
            eff,
            eff
        ));
        // 8760 h at the period's mean fuel input: W × 3.1536e7 s / 1e9 J per GJ.
        let fuel_w = stored["energy_balance"]["fuel_input_W"]["HHV"]
            .as_f64()
            .unwrap();
        let annual_gj = fuel_w * 8_760.0 * 3_600.0 / 1e9;
        assert!(close(
            c["annual_fuel_gj"].as_f64().unwrap(),
            annual_gj,
            annual_gj
        ));
    }

    let (status, priced) = app
        .get(
            &format!("/calculations/{id}/benchmark?fuel_price_per_gj=10"),
            &app.viewer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{priced}");
    assert_eq!(priced["fuel_price_per_gj"], 10.0);
    for u in priced["units"].as_array().unwrap() {
        let c = &u["comparison"];
        let gap = &c["gap_to_median"];
        let cost = gap["cost_per_year"].as_f64().unwrap();
        let gj = gap["energy_gj_per_year"].as_f64().unwrap();
        assert!(close(cost, 10.0 * gj, cost), "{u}");
        let annual = c["annual_fuel_cost"].as_f64().unwrap();
        assert!(close(
            annual,
            10.0 * c["annual_fuel_gj"].as_f64().unwrap(),
            annual
        ));
    }
}

#[tokio::test]
async fn unknown_failed_and_malformed_requests_are_refused() {
    let app = spawn().await;
    let (id, _) = completed(&app).await;
    for path in ["sankey", "benchmark", "sankey?format=json"] {
        let (status, v) = app
            .get(&format!("/calculations/CALC-NONE/{path}"), &app.viewer)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {v}");
        assert_eq!(error(&v)["code"], "not_found");
        for token in [None, Some("tq_not_a_token")] {
            let r = app
                .call(
                    Method::GET,
                    &format!("/calculations/{id}/{path}"),
                    token,
                    None,
                )
                .await;
            let (status, v) = json_of(r).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {v}");
            assert_eq!(error(&v)["code"], "unauthorized");
        }
    }
    for (query, field) in [
        ("sankey?basis=kelvin", "basis"),
        ("sankey?format=png", "format"),
        ("benchmark?fuel_price_per_gj=-1", "fuel_price_per_gj"),
        ("benchmark?fuel_price_per_gj=cheap", "fuel_price_per_gj"),
    ] {
        let (status, v) = app
            .get(&format!("/calculations/{id}/{query}"), &app.viewer)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {v}");
        assert_eq!(error(&v)["field"], field);
    }

    // A steam meter reading 30 % high: the balance misses, the calculation is stored failed.
    let mut readings = server::demo::readings(START_US + HOUR_US, 3_600, 4).unwrap();
    for r in readings.iter_mut().filter(|r| r.tag == "FT-110") {
        r.value *= 1.3;
    }
    app.store
        .insert_readings("FAC-DEMO-001", &readings)
        .await
        .unwrap();
    let (status, v) = app
        .post(
            "/calculate",
            &app.operator,
            &calc_body(START_US + HOUR_US, START_US + 2 * HOUR_US),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "failed");
    let failed = v["calculation_id"].as_str().unwrap();
    for path in ["sankey", "benchmark"] {
        let (status, v) = app
            .get(&format!("/calculations/{failed}/{path}"), &app.viewer)
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {v}");
        assert!(
            error(&v)["message"]
                .as_str()
                .unwrap()
                .contains("no balance to draw"),
            "{v}"
        );
    }
}
