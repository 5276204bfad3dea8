//! The real `thermaliq` binary on the worked examples, on refused inputs and on the steam verb.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn thermaliq(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_thermaliq"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    pipe.write_all(stdin.unwrap_or("").as_bytes())
        .expect("stdin accepts the document");
    drop(pipe);
    child.wait_with_output().expect("the binary finishes")
}

fn example(name: &str) -> PathBuf {
    workspace().join("examples").join(name)
}

fn calc_file(path: &Path) -> Value {
    let out = thermaliq(&["calc", path.to_str().expect("UTF-8 path")], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the output is JSON")
}

fn number(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} is a number in {v}"))
}

#[test]
fn every_example_runs_and_gives_efficiencies_between_0_and_100() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(workspace().join("examples"))
        .expect("examples/ exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 7, "worked examples: {files:?}");
    for file in files {
        let doc = calc_file(&file);
        let pointers: &[&str] = if doc.pointer("/equipment/type") == Some(&"heat_exchanger".into())
        {
            &[
                "/efficiency_percent/heat_retained",
                "/efficiency_percent/exergy",
            ]
        } else {
            &[
                "/efficiency_percent/direct/HHV",
                "/efficiency_percent/direct/LHV",
                "/efficiency_percent/indirect/HHV",
                "/efficiency_percent/indirect/LHV",
                "/efficiency_percent/exergy",
            ]
        };
        for p in pointers {
            let e = number(&doc, p);
            assert!(e > 0.0 && e < 100.0, "{}: {p} = {e}", file.display());
        }
        let hash = doc.pointer("/provenance/sha256").and_then(Value::as_str);
        assert_eq!(hash.map(str::len), Some(64), "{}", file.display());
    }
}

/// Relative difference, for comparing the same figure computed from two unit systems.
fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

#[test]
fn si_and_us_customary_twins_give_the_same_results() {
    let us = calc_file(&example("gas-fired-steam-boiler.json"));
    let si = calc_file(&example("gas-fired-steam-boiler-si.json"));
    let mut compared = 0;
    let mut check = |pointer: String| {
        let (a, b) = (number(&us, &pointer), number(&si, &pointer));
        assert!(rel(a, b) <= 1e-9, "{pointer}: {a} (US) vs {b} (SI)");
        compared += 1;
    };
    for basis in ["HHV", "LHV"] {
        check(format!("/efficiency_percent/direct/{basis}"));
        check(format!("/efficiency_percent/indirect/{basis}"));
        check(format!("/energy_balance/fuel_input_W/{basis}"));
        check(format!("/available_heat_percent/{basis}"));
        let losses = us["energy_balance"]["losses"]
            .as_array()
            .expect("losses")
            .len();
        for i in 0..losses {
            check(format!("/energy_balance/losses/{i}/W/{basis}"));
            check(format!(
                "/energy_balance/losses/{i}/percent_of_input/{basis}"
            ));
        }
    }
    check("/efficiency_percent/exergy".to_string());
    check("/energy_balance/useful_output_W".to_string());
    check("/combustion/excess_air_percent".to_string());
    for i in 0..5 {
        check(format!(
            "/uncertainty/first_order/{i}/expanded_uncertainty_percent_points"
        ));
    }
    assert!(compared > 40);
}

/// The oil-fired example with one change, run through standard input.
fn refused(change: impl FnOnce(&mut Value)) -> (Option<i32>, String) {
    let text = std::fs::read_to_string(example("oil-no2-steam-boiler.json")).expect("readable");
    let mut doc: Value = serde_json::from_str(&text).expect("JSON");
    change(&mut doc);
    let out = thermaliq(&["calc", "-"], Some(&doc.to_string()));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_refused((code, stderr): (Option<i32>, String), field: &str, reason: &str) {
    assert_eq!(code, Some(2), "exit code; stderr: {stderr}");
    assert!(
        stderr.contains(field) && stderr.contains(reason),
        "stderr should name {field} and say {reason}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_unknown_field_is_refused_by_name() {
    assert_refused(
        refused(|d| d["flue_gas"]["o2_bassis"] = "dry".into()),
        "flue_gas.o2_bassis",
        "unknown field",
    );
}

#[test]
fn a_missing_o2_basis_is_refused() {
    assert_refused(
        refused(|d| {
            d["flue_gas"]
                .as_object_mut()
                .expect("object")
                .remove("o2_basis");
        }),
        "flue_gas.o2_basis",
        "missing field",
    );
}

#[test]
fn an_unknown_unit_is_refused() {
    assert_refused(
        refused(|d| d["flue_gas"]["temperature"] = "180 furlongs".into()),
        "flue_gas.temperature",
        "furlongs",
    );
}

#[test]
fn a_bare_number_for_a_temperature_is_refused() {
    assert_refused(
        refused(|d| d["flue_gas"]["temperature"] = 180.into()),
        "flue_gas.temperature",
        "needs a unit",
    );
}

#[test]
fn a_negative_flow_is_refused() {
    assert_refused(
        refused(|d| d["fuel_flow"] = "-515 kg/h".into()),
        "fuel_flow",
        "negative",
    );
}

#[test]
fn oxygen_above_that_of_air_is_refused() {
    assert_refused(
        refused(|d| d["flue_gas"]["o2"] = "25 %".into()),
        "flue_gas.o2",
        "O2",
    );
}

#[test]
fn malformed_json_is_refused() {
    let out = thermaliq(&["calc", "-"], Some("{\"equipment\": {"));
    assert_refused(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
        "not valid JSON",
        "line",
    );
}

#[test]
fn a_nonexistent_file_is_refused() {
    let out = thermaliq(&["calc", "/nonexistent/thermaliq-input.json"], None);
    assert_refused(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
        "/nonexistent/thermaliq-input.json",
        "cannot read",
    );
}

#[test]
fn steam_matches_the_iapws_verification_table() {
    // IAPWS R7-97(2012), Table 5: T = 300 K, p = 3 MPa, h = 0.115331273e3 kJ/kg.
    let out = thermaliq(&["steam", "--p", "3MPa", "--t", "300K"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let h = number(&state, "/h_J_kg");
    assert!(rel(h, 115_331.273) <= 1e-8, "h = {h} J/kg");
    assert_eq!(state["region"], 1);
    assert_eq!(state["phase"], "liquid");
}

#[test]
fn steam_out_of_range_is_refused() {
    let out = thermaliq(&["steam", "--p", "120MPa", "--t", "300K"], None);
    assert_refused(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
        "--p",
        "100 MPa",
    );
}

#[test]
fn steam_needs_a_pair_of_properties() {
    let out = thermaliq(&["steam", "--p", "3MPa"], None);
    assert_refused(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
        "--p --t",
        "exactly two",
    );
}

#[test]
fn version_is_the_workspace_version() {
    let out = thermaliq(&["--version"], None);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
}
