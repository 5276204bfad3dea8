//! The HTTP API, black-box: the real service on a loopback port over a fresh SQLite store,
//! driven by a real HTTP client.

mod api_support;

use api_support::{HOUR_US, START_US, TestApp, calc_body, error, json_of, spawn, spawn_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Every protected route: method, path, least role ("viewer" < "operator" < "admin"), body.
fn protected_routes() -> Vec<(Method, &'static str, &'static str, Option<Value>)> {
    let calc = calc_body(START_US, START_US + HOUR_US);
    vec![
        (Method::GET, "/facilities", "viewer", None),
        (Method::GET, "/facilities/FAC-DEMO-001", "viewer", None),
        (
            Method::PUT,
            "/facilities/FAC-DEMO-001",
            "operator",
            Some(json!({})),
        ),
        (Method::DELETE, "/facilities/FAC-NONE", "admin", None),
        (
            Method::POST,
            "/facilities/FAC-DEMO-001/readings",
            "operator",
            Some(json!({"readings": []})),
        ),
        (Method::POST, "/calculate", "operator", Some(calc)),
        (
            Method::POST,
            "/recalculate",
            "operator",
            Some(json!({"original_calculation_id": "CALC-NONE"})),
        ),
        (Method::GET, "/calculations", "viewer", None),
        (Method::GET, "/calculations/CALC-NONE", "viewer", None),
        (
            Method::GET,
            "/equipment/BLR-001/latest-calculation",
            "viewer",
            None,
        ),
        (
            Method::POST,
            "/equipment/BLR-001/flag",
            "operator",
            Some(json!({"reason": "test", "flagged": false})),
        ),
        (
            Method::POST,
            "/admin/cache/invalidate",
            "admin",
            Some(json!({"pattern": "calculation:*"})),
        ),
        (Method::GET, "/admin/cache/stats", "admin", None),
    ]
}

#[tokio::test]
async fn every_protected_route_refuses_no_bad_revoked_and_too_low_tokens() {
    let app = spawn().await;
    app.put_demo_facility().await;
    let malformed = "not-a-token".to_string();
    let unknown = format!("tq_{}", "0".repeat(64));
    for (method, path, role, body) in protected_routes() {
        for token in [None, Some(&malformed), Some(&unknown), Some(&app.revoked)] {
            let r = app
                .call(
                    method.clone(),
                    path,
                    token.map(String::as_str),
                    body.as_ref(),
                )
                .await;
            assert_eq!(
                r.headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok()),
                Some("Bearer realm=\"thermaliq\""),
                "{method} {path}"
            );
            let (status, v) = json_of(r).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} {token:?}: {v}"
            );
            assert_eq!(error(&v)["code"], "unauthorized");
        }
        let too_low: &[&String] = match role {
            "viewer" => &[],
            "operator" => &[&app.viewer],
            _ => &[&app.viewer, &app.operator],
        };
        for token in too_low {
            let (status, v) = json_of(
                app.call(method.clone(), path, Some(token), body.as_ref())
                    .await,
            )
            .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {v}");
            assert_eq!(error(&v)["code"], "forbidden");
        }
        let enough = match role {
            "viewer" => &app.viewer,
            "operator" => &app.operator,
            _ => &app.admin,
        };
        let r = app
            .call(method.clone(), path, Some(enough), body.as_ref())
            .await;
        assert!(
            r.status() != StatusCode::UNAUTHORIZED && r.status() != StatusCode::FORBIDDEN,
            "{method} {path} with {role}: {}",
            r.status()
        );
    }
}

#[tokio::test]
async fn health_ready_and_the_documents_need_no_token() {
    let app = spawn().await;
    let (status, v) = json_of(app.call(Method::GET, "/health", None, None).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["status"], "healthy");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["store"], "ok");
    let (status, v) = json_of(app.call(Method::GET, "/ready", None, None).await).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = json_of(app.call(Method::GET, "/openapi.json", None, None).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(v["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/calculate",
        "/calculations/{id}",
        "/admin/cache/stats",
        "/health",
    ] {
        assert!(v["paths"].get(path).is_some(), "{path} documented");
    }
    let r = app.call(Method::GET, "/docs/", None, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("swagger"));
}

#[tokio::test]
async fn request_ids_are_set_or_propagated() {
    let app = spawn().await;
    let r = app.call(Method::GET, "/health", None, None).await;
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let r = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "my-id-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "my-id-42");
}

#[tokio::test]
async fn health_is_503_when_the_store_is_closed() {
    let app = spawn().await;
    app.store.close().await;
    let (status, v) = json_of(app.call(Method::GET, "/health", None, None).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["status"], "unhealthy");
    let (status, _) = json_of(app.call(Method::GET, "/ready", None, None).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn ready_is_503_while_a_migration_is_pending() {
    let app = spawn().await;
    app.store
        .migrate_down(store::MigrateDownTarget::Steps(1))
        .await
        .unwrap();
    let (status, v) = json_of(app.call(Method::GET, "/ready", None, None).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["pending_migrations"], 1);
    app.store.migrate_up(None).await.unwrap();
    let (status, _) = json_of(app.call(Method::GET, "/ready", None, None).await).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bad_requests_get_json_errors_naming_the_field() {
    let app = spawn().await;
    app.put_demo_facility().await;
    let op = &app.operator;

    // Malformed JSON, wrong content type, unknown and mistyped fields.
    let r = app
        .raw(
            Method::POST,
            "/calculate",
            op,
            "application/json",
            "{\"facility_id\": ",
        )
        .await;
    let (status, v) = json_of(r).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error(&v)["code"], "malformed_json");
    let r = app
        .raw(Method::POST, "/calculate", op, "text/plain", "hello")
        .await;
    assert_eq!(json_of(r).await.0, StatusCode::BAD_REQUEST);
    let (status, v) = app
        .post("/calculate", op, &json!({"facility_id": "FAC-DEMO-001"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error(&v)["field"], "time_period");
    let (status, v) = app
        .post(
            "/calculate",
            op,
            &json!({"facility_id": "FAC-DEMO-001", "time_period": {"start": 5, "end": "x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error(&v)["field"], "time_period.start");

    // Unknown facility, bad times, end before start, too long a period.
    let mut body = calc_body(START_US, START_US + HOUR_US);
    body["facility_id"] = json!("FAC-NOPE");
    let (status, v) = app.post("/calculate", op, &body).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(error(&v)["field"], "facility_id");
    let (status, v) = app
        .post("/calculate", op, &calc_body(START_US, START_US - HOUR_US))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error(&v)["field"], "time_period.end");
    let (status, v) = app
        .post(
            "/calculate",
            op,
            &calc_body(START_US, START_US + 32 * 24 * HOUR_US),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error(&v)["field"], "time_period");
    let mut body = calc_body(START_US, START_US + HOUR_US);
    body["time_period"]["start"] = json!("yesterday");
    let (status, v) = app.post("/calculate", op, &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error(&v)["field"], "time_period.start");

    // Unknown route and method.
    let (status, v) = app.get("/nowhere", op).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error(&v)["code"], "not_found");
    let (status, _) = json_of(app.call(Method::DELETE, "/calculate", Some(op), None).await).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    // Bad list parameters.
    for (query, field) in [
        ("?status=done", "status"),
        ("?limit=0", "limit"),
        ("?limit=abc", "limit"),
        ("?from=monday", "from"),
        ("?cursor=%%%", "cursor"),
    ] {
        let (status, v) = app.get(&format!("/calculations{query}"), op).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {v}");
        assert_eq!(error(&v)["field"], field, "{query}");
    }
}

#[tokio::test]
async fn a_facility_spec_with_an_unknown_unit_is_refused_naming_the_field() {
    let app = spawn().await;
    let mut spec = server::demo::facility_spec().to_json();
    spec["equipment"][0]["tags"]["steam_flow"]["unit"] = json!("furlong/fortnight");
    let r = app
        .call(
            Method::PUT,
            "/facilities/FAC-DEMO-001",
            Some(&app.operator),
            Some(&spec),
        )
        .await;
    let (status, v) = json_of(r).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let field = error(&v)["field"].as_str().unwrap();
    assert!(field.contains("steam_flow"), "{field}");
    // A spec whose id differs from the path.
    let spec = server::demo::facility_spec().to_json();
    let r = app
        .call(
            Method::PUT,
            "/facilities/FAC-OTHER",
            Some(&app.operator),
            Some(&spec),
        )
        .await;
    let (status, v) = json_of(r).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error(&v)["field"], "id");
}

#[tokio::test]
async fn facilities_are_applied_idempotently_listed_and_deleted() {
    let app = spawn().await;
    let spec = server::demo::facility_spec().to_json();
    let put = |body: Value| {
        let app = &app;
        async move {
            json_of(
                app.call(
                    Method::PUT,
                    "/facilities/FAC-DEMO-001",
                    Some(&app.operator),
                    Some(&body),
                )
                .await,
            )
            .await
        }
    };
    let (status, v) = put(spec.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["outcome"], "created");
    let (status, v) = put(spec.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["outcome"], "unchanged");
    assert_eq!(v["changes"], json!([]));
    let mut renamed = spec.clone();
    renamed["name"] = json!("Renamed plant");
    let (_, v) = put(renamed).await;
    assert_eq!(v["outcome"], "updated");
    assert_eq!(v["changes"][0]["field"], "name", "{v}");

    // The same spec as TOML.
    let r = app
        .raw(
            Method::PUT,
            "/facilities/FAC-DEMO-001",
            &app.operator,
            "application/toml",
            server::demo::SPEC_TOML,
        )
        .await;
    assert_eq!(json_of(r).await.1["outcome"], "updated");

    let (status, v) = app.get("/facilities", &app.viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v[0]["id"], "FAC-DEMO-001");
    assert_eq!(v[0]["equipment_ids"], json!(["BLR-001", "FUR-001"]));
    let (status, v) = app.get("/facilities/FAC-DEMO-001", &app.viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["spec"]["id"], "FAC-DEMO-001");
    let (status, _) = app.get("/facilities/FAC-NONE", &app.viewer).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Data exists: 409; without data: deleted; then 404.
    app.store_demo_readings(START_US, 10, 1).await;
    let (status, v) = json_of(
        app.call(
            Method::DELETE,
            "/facilities/FAC-DEMO-001",
            Some(&app.admin),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let mut other = server::demo::facility_spec();
    other.id = "FAC-EMPTY".into();
    for e in &mut other.equipment {
        e.id = format!("{}-X", e.id);
    }
    let (status, _) = json_of(
        app.call(
            Method::PUT,
            "/facilities/FAC-EMPTY",
            Some(&app.operator),
            Some(&other.to_json()),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, v) = json_of(
        app.call(
            Method::DELETE,
            "/facilities/FAC-EMPTY",
            Some(&app.admin),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, _) = json_of(
        app.call(
            Method::DELETE,
            "/facilities/FAC-EMPTY",
            Some(&app.admin),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn readings_json(items: &[(&str, &str, Value)]) -> Value {
    json!({
        "readings": items
            .iter()
            .map(|(time, tag, value)| json!({"time": time, "tag": tag, "value": value}))
            .collect::<Vec<_>>()
    })
}

async fn stored_values(app: &TestApp, tag: &str) -> Vec<f64> {
    let series = app
        .store
        .readings("FAC-DEMO-001", &[tag], START_US, START_US + HOUR_US)
        .await
        .unwrap();
    series[0].values.clone()
}

#[tokio::test]
async fn readings_are_idempotent_corrections_count_and_bad_batches_store_nothing() {
    let app = spawn().await;
    app.put_demo_facility().await;
    let path = "/facilities/FAC-DEMO-001/readings";
    let batch = readings_json(&[
        ("2025-11-01T00:00:00Z", "FT-101", json!(1500.0)),
        ("2025-11-01T00:00:01Z", "FT-101", json!(1501.0)),
        ("2025-11-01T01:00:02+01:00", "FT-101", json!(1502.0)),
    ]);
    let (status, v) = app.post(path, &app.operator, &batch).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"received": 3, "inserted": 3, "corrected": 0, "unchanged": 0, "rejected": 0, "errors": []})
    );
    let (_, v) = app.post(path, &app.operator, &batch).await;
    assert_eq!(
        (v["inserted"].clone(), v["unchanged"].clone()),
        (json!(0), json!(3))
    );
    let fix = readings_json(&[("2025-11-01T00:00:01Z", "FT-101", json!(1511.0))]);
    let (_, v) = app.post(path, &app.operator, &fix).await;
    assert_eq!(v["corrected"], 1);
    assert_eq!(
        stored_values(&app, "FT-101").await,
        [1500.0, 1511.0, 1502.0]
    );

    // A correction in a batch with bad items: refused whole, nothing stored or lost.
    let bad = json!({"readings": [
        {"time": "2025-11-01T00:00:01Z", "tag": "FT-101", "value": 9999.0},
        {"time": "2025-11-01T00:00:02Z", "tag": "XX-999", "value": 1.0},
        {"time": "2025-11-01T00:00:03Z", "tag": "FT-101", "value": "12.5"},
        {"time": "noon", "tag": "FT-101", "value": 1.0},
        {"time": "2025-11-01T00:00:04Z", "tag": "FT-101", "value": 1.0, "quality": "great"},
        {"time": "2025-11-01T00:00:05Z", "tag": "FT-101"},
        [1, 2],
    ]});
    let (status, v) = app.post(path, &app.operator, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let e = error(&v);
    assert_eq!(e["code"], "invalid_readings");
    assert_eq!(e["field"], "readings[1].tag");
    let fields: Vec<(u64, String)> = e["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["item"].as_u64().unwrap(),
                x["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            (1, "tag".to_string()),
            (2, "value".to_string()),
            (3, "time".to_string()),
            (4, "quality".to_string()),
            (5, "value".to_string()),
            (6, "item".to_string()),
        ]
    );
    assert_eq!(
        stored_values(&app, "FT-101").await,
        [1500.0, 1511.0, 1502.0]
    );

    // Partial: the good rows are stored, the bad ones reported.
    let (status, v) = app
        .post(&format!("{path}?partial=true"), &app.operator, &bad)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["received"], 7);
    assert_eq!(v["corrected"], 1);
    assert_eq!(v["rejected"], 6);
    assert_eq!(v["errors"].as_array().unwrap().len(), 6);
    assert_eq!(
        stored_values(&app, "FT-101").await,
        [1500.0, 9999.0, 1502.0]
    );
    let (status, v) = app
        .post(&format!("{path}?partial=maybe"), &app.operator, &bad)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error(&v)["field"], "partial");

    // Unknown facility; an empty batch; a batch that is not the expected shape.
    let (status, _) = app
        .post("/facilities/FAC-NONE/readings", &app.operator, &batch)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, v) = app
        .post(path, &app.operator, &json!({"readings": []}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error(&v)["field"], "readings");
    let (status, v) = app.post(path, &app.operator, &json!({"rows": []})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

#[tokio::test]
async fn readings_in_csv_are_checked_line_by_line() {
    let app = spawn().await;
    app.put_demo_facility().await;
    let path = "/facilities/FAC-DEMO-001/readings";
    let good = "time,tag,value,quality\n\
                2025-11-01T00:00:00Z,FT-101,1500,good\n\
                2025-11-01T00:00:01Z,FT-101,1501,\n\
                2025-11-01T00:00:02Z,FT-101,1502,uncertain\n";
    let (status, v) = json_of(
        app.raw(Method::POST, path, &app.operator, "text/csv", good)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["inserted"], 3);
    let bad = "time,tag,value\n\
               2025-11-01T00:00:03Z,FT-101,NaN\n\
               2025-11-01T00:00:04Z,FT-101,inf\n\
               2025-11-01T00:00:05Z,FT-101\n\
               2025-11-01T00:00:06Z,FT-101,1503\n";
    let (status, v) = json_of(
        app.raw(Method::POST, path, &app.operator, "text/csv", bad)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(error(&v)["field"], "line 2: value");
    let lines: Vec<u64> = error(&v)["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3, 4]);
    assert_eq!(stored_values(&app, "FT-101").await.len(), 3);
    let r = app
        .raw(
            Method::POST,
            path,
            &app.operator,
            "text/csv",
            "when,what\n1,2\n",
        )
        .await;
    let (status, v) = json_of(r).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error(&v)["code"], "malformed_csv");
}

#[tokio::test]
async fn an_oversized_body_is_413_json() {
    let app = spawn_with(|s| s.body_limit = 64 * 1024).await;
    app.put_demo_facility().await;
    let big = format!(
        "time,tag,value\n{}",
        "2025-11-01T00:00:00Z,FT-101,1\n".repeat(5_000)
    );
    let r = app
        .raw(
            Method::POST,
            "/facilities/FAC-DEMO-001/readings",
            &app.operator,
            "text/csv",
            big,
        )
        .await;
    let (status, v) = json_of(r).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error(&v)["code"], "payload_too_large");
}

#[tokio::test]
async fn calculate_get_list_recalculate_and_the_cache() {
    let app = spawn().await;
    app.put_demo_facility().await;
    app.store_demo_readings(START_US, 7_200, 5).await;
    let body = calc_body(START_US, START_US + HOUR_US);
    let r = app
        .call(Method::POST, "/calculate", Some(&app.operator), Some(&body))
        .await;
    assert_eq!(r.headers()["x-thermaliq-cache"], "miss");
    let (status, calc) = json_of(r).await;
    assert_eq!(status, StatusCode::OK, "{calc}");
    assert_eq!(calc["status"], "completed");
    let id = calc["calculation_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("CALC-"));
    let eff = calc["efficiency"].as_f64().unwrap();
    assert!((50.0..100.0).contains(&eff), "{eff}");
    for pointer in [
        "/summary/efficiency_percent/direct/HHV",
        "/summary/efficiency_percent/direct/LHV",
        "/summary/efficiency_percent/indirect/HHV",
        "/summary/efficiency_percent/indirect/LHV",
        "/summary/efficiency_percent/exergy",
        "/summary/closure_percent/HHV",
        "/energy_balance_percent",
        "/equipment/0/result/energy_balance/losses/0/W/HHV",
        "/summary/uncertainty/figures/0/expanded_uncertainty_percent_points",
        "/data_quality/score",
    ] {
        assert!(
            calc.pointer(pointer).and_then(Value::as_f64).is_some(),
            "{pointer}"
        );
    }
    let hash = calc["provenance"]["sha256"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 64);

    // The stored document, efficiency included, is what was answered.
    let (status, got) = app.get(&format!("/calculations/{id}"), &app.viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, calc);
    let (status, _) = app.get("/calculations/CALC-NONE", &app.viewer).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The same inputs again: the cached calculation, same id.
    let r = app
        .call(Method::POST, "/calculate", Some(&app.operator), Some(&body))
        .await;
    assert_eq!(r.headers()["x-thermaliq-cache"], "hit");
    assert_eq!(json_of(r).await.1["calculation_id"], id.as_str());

    // Recalculate: new id, same numbers and hash, refers to the original.
    let (status, again) = app
        .post(
            "/recalculate",
            &app.operator,
            &json!({"original_calculation_id": id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_ne!(again["calculation_id"], calc["calculation_id"]);
    assert_eq!(again["provenance"]["sha256"], hash.as_str());
    assert_eq!(again["efficiency"], calc["efficiency"]);
    assert_eq!(again["summary"], calc["summary"]);
    assert_eq!(again["recalculated_from"]["calculation_id"], id.as_str());
    assert_eq!(again["recalculated_from"]["same_inputs"], true);
    let (status, v) = app
        .post(
            "/recalculate",
            &app.operator,
            &json!({"original_calculation_id": "CALC-NONE"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error(&v)["field"], "original_calculation_id");

    // A correction changes the inputs: recalculating gives another hash.
    let fix =
        json!({"readings": [{"time": "2025-11-01T00:30:00Z", "tag": "FT-101", "value": 1800.0}]});
    app.post("/facilities/FAC-DEMO-001/readings", &app.operator, &fix)
        .await;
    let (_, changed) = app
        .post(
            "/recalculate",
            &app.operator,
            &json!({"original_calculation_id": id}),
        )
        .await;
    assert_ne!(changed["provenance"]["sha256"], hash.as_str());
    assert_eq!(changed["recalculated_from"]["same_inputs"], false);

    // A second hour, then the list: filters and paging.
    let (_, second) = app
        .post(
            "/calculate",
            &app.operator,
            &calc_body(START_US + HOUR_US, START_US + 2 * HOUR_US),
        )
        .await;
    let (status, page) = app
        .get(
            "/calculations?facility_id=FAC-DEMO-001&limit=2",
            &app.viewer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["calculation_id"], second["calculation_id"]);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let (_, rest) = app
        .get(
            &format!("/calculations?facility_id=FAC-DEMO-001&limit=2&cursor={cursor}"),
            &app.viewer,
        )
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 2);
    assert!(rest["next_cursor"].is_null());
    let (_, failed) = app.get("/calculations?status=failed", &app.viewer).await;
    assert_eq!(failed["items"], json!([]));
    let (_, first_hour) = app
        .get(
            "/calculations?from=2025-11-01T00:00:00Z&to=2025-11-01T01:00:00Z",
            &app.viewer,
        )
        .await;
    assert_eq!(first_hour["items"].as_array().unwrap().len(), 3);

    // Cache statistics and invalidation.
    let (status, stats) = app.get("/admin/cache/stats", &app.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(stats["size"].as_u64().unwrap() >= 1, "{stats}");
    assert!(stats["hits"].as_u64().unwrap() >= 1, "{stats}");
    let (_, v) = app
        .post(
            "/admin/cache/invalidate",
            &app.admin,
            &json!({"pattern": "calculation:*:v0.0.0:*"}),
        )
        .await;
    assert_eq!(v["invalidated"], 0);
    let (_, v) = app
        .post(
            "/admin/cache/invalidate",
            &app.admin,
            &json!({"pattern": format!("calculation:FAC-DEMO-001:v{}:*", env!("CARGO_PKG_VERSION"))}),
        )
        .await;
    assert!(v["invalidated"].as_u64().unwrap() >= 1, "{v}");
    let (_, stats) = app.get("/admin/cache/stats", &app.admin).await;
    assert_eq!(stats, json!({"size": 0, "hits": 0, "misses": 0}));
    // Served from the store after invalidation, then cached again.
    let (status, got) = app.get(&format!("/calculations/{id}"), &app.viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, calc);
    let (_, stats) = app.get("/admin/cache/stats", &app.admin).await;
    assert_eq!(stats["misses"], 1);
    let (status, v) = app
        .post(
            "/admin/cache/invalidate",
            &app.admin,
            &json!({"pattern": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error(&v)["field"], "pattern");
}

#[tokio::test]
async fn flagged_equipment_is_marked_in_the_next_result() {
    let app = spawn().await;
    app.put_demo_facility().await;
    app.store_demo_readings(START_US, 3_600, 9).await;
    let body = calc_body(START_US, START_US + HOUR_US);
    let (_, before) = app.post("/calculate", &app.operator, &body).await;
    assert_eq!(before["flagged_equipment"], json!([]));

    let (status, v) = app
        .post(
            "/equipment/BLR-001/flag",
            &app.operator,
            &json!({"reason": "O2 analyser drifting"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["flagged"], true);
    assert_eq!(v["flagged_by"], "operator");
    let (_, after) = app.post("/calculate", &app.operator, &body).await;
    assert_ne!(after["calculation_id"], before["calculation_id"]);
    assert_eq!(
        after["provenance"]["sha256"],
        before["provenance"]["sha256"]
    );
    assert_eq!(after["flagged_equipment"], json!(["BLR-001"]));
    assert_eq!(
        after["equipment"][0]["flag"]["reason"],
        "O2 analyser drifting"
    );
    assert!(after["equipment"][1].get("flag").is_none());

    let (status, latest) = app
        .get("/equipment/BLR-001/latest-calculation", &app.viewer)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(latest["calculation_id"], after["calculation_id"]);
    let (status, _) = app
        .get("/equipment/NOPE-1/latest-calculation", &app.viewer)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, v) = app
        .post(
            "/equipment/BLR-001/flag",
            &app.operator,
            &json!({"reason": " "}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error(&v)["field"], "reason");
    let (status, _) = app
        .post(
            "/equipment/NOPE-1/flag",
            &app.operator,
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, v) = app
        .post(
            "/equipment/BLR-001/flag",
            &app.operator,
            &json!({"flagged": false}),
        )
        .await;
    assert_eq!(v["flagged"], false);
    let (_, cleared) = app.post("/calculate", &app.operator, &body).await;
    assert_eq!(cleared["flagged_equipment"], json!([]));
}

#[tokio::test]
async fn too_little_coverage_is_refused_naming_the_tags() {
    let app = spawn().await;
    app.put_demo_facility().await;
    // Ten minutes of data for a one-hour period.
    app.store_demo_readings(START_US, 600, 2).await;
    let (status, v) = app
        .post(
            "/calculate",
            &app.operator,
            &calc_body(START_US, START_US + HOUR_US),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let e = error(&v);
    assert_eq!(e["code"], "insufficient_coverage");
    assert!(e["field"].as_str().unwrap().contains(".tags."), "{e}");
    let tags: Vec<&str> = e["details"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap())
        .collect();
    assert!(
        tags.contains(&"FT-101") && tags.contains(&"JT-250"),
        "{tags:?}"
    );
}

#[tokio::test]
async fn an_energy_balance_that_does_not_close_is_stored_as_failed() {
    let app = spawn().await;
    app.put_demo_facility().await;
    // A steam meter reading 30 % high: the boiler's balance misses by far more than 10 %.
    let mut readings = server::demo::readings(START_US, 3_600, 4).unwrap();
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
            &calc_body(START_US, START_US + HOUR_US),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "failed");
    assert!(v["efficiency"].is_null());
    assert!(
        v["failure_reason"]
            .as_str()
            .unwrap()
            .contains("energy balance"),
        "{v}"
    );
    let id = v["calculation_id"].as_str().unwrap();
    let stored = app.store.calculation(id).await.unwrap().unwrap();
    assert_eq!(stored.status, store::CalculationStatus::Failed);
    assert_eq!(stored.efficiency, None);
    let (_, page) = app.get("/calculations?status=failed", &app.viewer).await;
    assert_eq!(page["items"][0]["calculation_id"], id);
    // Failed results are not cached: asking again calculates again.
    let (_, again) = app
        .post(
            "/calculate",
            &app.operator,
            &calc_body(START_US, START_US + HOUR_US),
        )
        .await;
    assert_ne!(again["calculation_id"], id);
}
