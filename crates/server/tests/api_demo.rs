//! End to end over the demo: the demo set up exactly as `thermaliq serve --demo` does (a day of
//! 1 Hz readings from the engineering core's forward model), a calculation over that day
//! through the HTTP API, and the known true efficiency of the forward model recovered within
//! the expanded uncertainty the calculation states.

mod api_support;

use api_support::{calc_body, spawn};
use reqwest::StatusCode;
use server::aggregate::Period;
use server::demo::Demo;
use server::http::demo_setup::{self, DEMO_SECONDS, DEMO_SEED};

/// 2025-11-01T00:00:00Z, µs.
const DAY_START_US: i64 = 1_761_955_200_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calculation_over_the_demo_day_recovers_the_true_efficiency() {
    let app = spawn().await;
    let setup = demo_setup::load(&app.store, DAY_START_US, |_, _| {})
        .await
        .unwrap();
    assert_eq!(setup.facility.outcome, "created");
    assert_eq!(setup.readings_stored, 86_400 * 15);
    // Set up again: nothing more is stored.
    let again = demo_setup::load(&app.store, DAY_START_US, |_, _| {})
        .await
        .unwrap();
    assert_eq!(again.readings_stored, 0);
    assert_eq!(again.facility.outcome, "unchanged");
    assert!(
        demo_setup::ensure_admin_token(&app.store, None)
            .await
            .unwrap()
            .is_none()
    );

    let end_us = DAY_START_US + i64::from(DEMO_SECONDS) * 1_000_000;
    let (status, calc) = app
        .post(
            "/calculate",
            &app.operator,
            &calc_body(DAY_START_US, end_us),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{calc}");
    assert_eq!(calc["status"], "completed");

    let truth = Demo::new(DAY_START_US, DEMO_SECONDS, DEMO_SEED)
        .unwrap()
        .true_efficiency(Period::new(DAY_START_US, end_us).unwrap());
    let found = calc["efficiency"].as_f64().unwrap();
    let u95 = calc["summary"]["uncertainty"]["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["figure"] == "direct_hhv")
        .unwrap()["expanded_uncertainty_percent_points"]
        .as_f64()
        .unwrap();
    eprintln!(
        "demo day: found {found:.3} % HHV, true {:.3} %, U95 {u95:.3} pp",
        truth.facility_hhv_percent
    );
    assert!(u95 > 0.0 && u95 < 5.0, "{u95}");
    assert!(
        (found - truth.facility_hhv_percent).abs() <= u95,
        "found {found} %, true {} %, U95 {u95} pp",
        truth.facility_hhv_percent
    );
    let stored = app
        .store
        .calculation(calc["calculation_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.efficiency, Some(found));
}
