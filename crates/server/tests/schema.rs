//! The committed JSON Schema of the input document is the one the DTOs generate, and every
//! worked example in `examples/` is valid against it.

use std::path::{Path, PathBuf};

use server::calc::input::{GasComposition, StandardFuel};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schema_path() -> PathBuf {
    workspace().join("docs/schema/calculation-input.schema.json")
}

fn generated() -> String {
    let mut text = serde_json::to_string_pretty(&server::calc::input_schema())
        .expect("a JSON value serializes");
    text.push('\n');
    text
}

#[test]
fn committed_schema_is_the_generated_one() {
    let path = schema_path();
    let fresh = generated();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &fresh).expect("write the schema");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} differs from the schema the DTOs generate; refresh it with \
         UPDATE_EXPECT=1 cargo test -p server --test schema",
        path.display()
    );
}

fn examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(workspace().join("examples"))
        .expect("examples/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_is_valid_against_the_committed_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(schema_path()).expect("the schema is committed"),
    )
    .expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let files = examples();
    assert!(
        files.len() >= 6,
        "expected the worked examples, found {files:?}"
    );
    for file in files {
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("readable"))
                .expect("the example is JSON");
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
}

#[test]
fn schema_refuses_what_the_reader_refuses() {
    let schema = server::calc::input_schema();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let bad = serde_json::json!({
        "equipment": {"type": "steam_boiler"},
        "flue_gas": {"o2": "3 %", "temperature": 180}
    });
    assert!(
        !validator.is_valid(&bad),
        "missing o2_basis and a bare temperature must fail"
    );
}

#[test]
fn standard_fuels_are_those_of_the_library() {
    let ids: Vec<&str> = StandardFuel::ALL.iter().map(|f| f.id()).collect();
    assert_eq!(ids, thermo::fuel::standard_ids());
}

#[test]
fn gas_components_are_those_of_thermo_in_order() {
    let names: Vec<&str> = GasComposition::default()
        .entries()
        .iter()
        .map(|(name, _)| *name)
        .collect();
    let thermo: Vec<&str> = thermo::fuel::GasComponent::ALL
        .iter()
        .map(|c| c.name())
        .collect();
    assert_eq!(names, thermo);
}
