//! The facility spec: the same document in TOML, YAML and JSON, validation naming the field,
//! the diff of `facility apply`, storage round trip and tag lookup.

use server::calc::BoundaryErrorKind;
use server::facility::{Change, FacilitySpec, Format, Quantity};

const TOML: &str = r#"
id = "FAC-001"
name = "Test plant"
time_zone = "Europe/Berlin"

[[equipment]]
id = "BLR-001"
name = "Boiler 1"
type = "steam_boiler"
fuel = { standard = "natural_gas" }
rating = "25 MW"
design_efficiency_percent_hhv = 84.0
surface = { fraction_of_rating = "0.5 %" }

[equipment.reference]
o2_basis = "dry"
steam_quality = 1
blowdown_fraction = "3 %"

[equipment.tags]
fuel_flow = { tag = "FT-101", unit = "Nm3/h", uncertainty = "1 %", range = { min = 0, max = 4000 } }
steam_flow = { tag = "FT-110", unit = "t/h", uncertainty = "1.5 %" }
steam_pressure = { tag = "PT-111", unit = "bar(g)", uncertainty = "0.05 bar" }
feedwater_temperature = { tag = "TT-112", unit = "°C", uncertainty = "1 K" }
flue_gas_o2 = { tag = "AT-120", unit = "%", uncertainty = "0.2 % abs" }
flue_gas_temperature = { tag = "TT-121", unit = "°C", uncertainty = "2 K" }
combustion_air_temperature = { tag = "TT-130", unit = "°C" }
combustion_air_humidity = "60 %"
"#;

const YAML: &str = r#"
id: FAC-001
name: Test plant
time_zone: Europe/Berlin
equipment:
  - id: BLR-001
    name: Boiler 1
    type: steam_boiler
    fuel: {standard: natural_gas}
    rating: 25 MW
    design_efficiency_percent_hhv: 84.0
    surface: {fraction_of_rating: 0.5 %}
    reference: {o2_basis: dry, steam_quality: 1, blowdown_fraction: 3 %}
    tags:
      fuel_flow: {tag: FT-101, unit: Nm3/h, uncertainty: 1 %, range: {min: 0, max: 4000}}
      steam_flow: {tag: FT-110, unit: t/h, uncertainty: 1.5 %}
      steam_pressure: {tag: PT-111, unit: bar(g), uncertainty: 0.05 bar}
      feedwater_temperature: {tag: TT-112, unit: °C, uncertainty: 1 K}
      flue_gas_o2: {tag: AT-120, unit: "%", uncertainty: 0.2 % abs}
      flue_gas_temperature: {tag: TT-121, unit: °C, uncertainty: 2 K}
      combustion_air_temperature: {tag: TT-130, unit: °C}
      combustion_air_humidity: 60 %
"#;

const JSON: &str = r#"{
  "id": "FAC-001", "name": "Test plant", "time_zone": "Europe/Berlin",
  "equipment": [{
    "id": "BLR-001", "name": "Boiler 1", "type": "steam_boiler",
    "fuel": {"standard": "natural_gas"}, "rating": "25 MW",
    "design_efficiency_percent_hhv": 84.0,
    "surface": {"fraction_of_rating": "0.5 %"},
    "reference": {"o2_basis": "dry", "steam_quality": 1, "blowdown_fraction": "3 %"},
    "tags": {
      "fuel_flow": {"tag": "FT-101", "unit": "Nm3/h", "uncertainty": "1 %", "range": {"min": 0, "max": 4000}},
      "steam_flow": {"tag": "FT-110", "unit": "t/h", "uncertainty": "1.5 %"},
      "steam_pressure": {"tag": "PT-111", "unit": "bar(g)", "uncertainty": "0.05 bar"},
      "feedwater_temperature": {"tag": "TT-112", "unit": "°C", "uncertainty": "1 K"},
      "flue_gas_o2": {"tag": "AT-120", "unit": "%", "uncertainty": "0.2 % abs"},
      "flue_gas_temperature": {"tag": "TT-121", "unit": "°C", "uncertainty": "2 K"},
      "combustion_air_temperature": {"tag": "TT-130", "unit": "°C"},
      "combustion_air_humidity": "60 %"
    }
  }]
}"#;

fn spec() -> FacilitySpec {
    FacilitySpec::parse(TOML, Format::Toml).unwrap()
}

/// The TOML spec with `from` replaced by `to` (which must occur), parsed.
fn edited(from: &str, to: &str) -> Result<FacilitySpec, server::calc::BoundaryError> {
    assert!(TOML.contains(from), "{from}");
    FacilitySpec::parse(&TOML.replacen(from, to, 1), Format::Toml)
}

/// The path and reason of the refusal of an edited spec.
fn refusal(from: &str, to: &str) -> (String, String) {
    let e = edited(from, to).unwrap_err();
    (e.path().to_string(), e.reason().to_string())
}

#[test]
fn toml_yaml_and_json_give_the_same_spec() {
    let toml = spec();
    let yaml = FacilitySpec::parse(YAML, Format::Yaml).unwrap();
    let json = FacilitySpec::parse(JSON, Format::Json).unwrap();
    assert_eq!(toml, yaml);
    assert_eq!(toml, json);
    assert_eq!(FacilitySpec::parse_file("plant.yml", YAML).unwrap(), toml);
    assert_eq!(FacilitySpec::parse_file("plant", JSON).unwrap(), toml);
    assert_eq!(FacilitySpec::parse_file("plant", TOML).unwrap(), toml);
    assert_eq!(Format::from_file_name("a/b/PLANT.TOML"), Some(Format::Toml));
}

#[test]
fn json_storage_round_trips() {
    let s = spec();
    let stored = s.to_json();
    assert_eq!(FacilitySpec::from_json(&stored).unwrap(), s);
    assert_eq!(
        stored["equipment"][0]["tags"]["steam_flow"]["tag"],
        "FT-110"
    );
    assert_eq!(
        stored["equipment"][0]["tags"]["combustion_air_humidity"],
        "60 %"
    );
}

#[test]
fn the_example_facilities_and_the_demo_parse() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/facilities");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        FacilitySpec::parse_file(name, &text).unwrap_or_else(|e| panic!("{name}: {e}"));
        n += 1;
    }
    assert!(n >= 3);
    assert!(FacilitySpec::parse(server::demo::SPEC_TOML, Format::Toml).is_ok());
}

#[test]
fn tag_lookup_finds_the_unit_and_quantity() {
    let s = spec();
    let (e, q, t) = s.tag("FT-110").unwrap();
    assert_eq!(
        (e.id.as_str(), q, t.unit.as_str()),
        ("BLR-001", Quantity::SteamFlow, "t/h")
    );
    assert!(s.tag("FT-999").is_none());
    assert_eq!(s.tag_names().len(), 7);
}

#[test]
fn syntax_and_shape_errors_name_the_field() {
    let e = FacilitySpec::parse("id = ", Format::Toml).unwrap_err();
    assert_eq!(e.kind(), BoundaryErrorKind::Syntax);
    let e = edited("rating = \"25 MW\"", "rating = \"25 MW\"\nratng = 1").unwrap_err();
    assert_eq!(e.kind(), BoundaryErrorKind::Shape);
    assert_eq!(e.path(), "equipment[0].ratng");
    let (path, _) = refusal("type = \"steam_boiler\"", "type = \"steam_engine\"");
    assert_eq!(path, "equipment[0].type");
    let (path, reason) = refusal("steam_flow = {", "stam_flow = {");
    assert_eq!(path, "equipment[0].tags.stam_flow");
    assert!(reason.contains("unknown variant"), "{reason}");
    let (path, reason) = refusal("unit = \"t/h\"", "unit = \"t/h\", tagg = 1");
    assert_eq!(path, "equipment[0].tags.steam_flow");
    assert!(reason.contains("tagg"), "{reason}");
    let (path, _) = refusal("name = \"Test plant\"\n", "");
    assert_eq!(path, "name");
}

#[test]
fn validation_errors_name_the_field() {
    let cases: &[(&str, &str, &str)] = &[
        ("id = \"FAC-001\"", "id = \"fac 1\"", "id"),
        ("\"Europe/Berlin\"", "\"Berlin\"", "time_zone"),
        ("id = \"BLR-001\"", "id = \"B1\"", "equipment[0].id"),
        (
            "steam_flow = { tag = \"FT-110\", unit = \"t/h\", uncertainty = \"1.5 %\" }",
            "",
            "equipment[0].tags.steam_flow",
        ),
        (
            "unit = \"t/h\"",
            "unit = \"°C\"",
            "equipment[0].tags.steam_flow.unit",
        ),
        (
            "unit = \"t/h\"",
            "unit = \"furlongs\"",
            "equipment[0].tags.steam_flow.unit",
        ),
        (
            "uncertainty = \"0.2 % abs\"",
            "uncertainty = \"0.2 %\"",
            "equipment[0].tags.flue_gas_o2.uncertainty",
        ),
        (
            "tag = \"TT-130\"",
            "tag = \"FT-110\"",
            "equipment[0].tags.combustion_air_temperature.tag",
        ),
        (
            "rating = \"25 MW\"",
            "rating = \"25 t/h\"",
            "equipment[0].rating",
        ),
        (
            "design_efficiency_percent_hhv = 84.0",
            "design_efficiency_percent_hhv = 184.0",
            "equipment[0].design_efficiency_percent_hhv",
        ),
        ("o2_basis = \"dry\"", "", "equipment[0].reference.o2_basis"),
        (
            "steam_quality = 1",
            "steam_quality = 1\nambient_pressure = \"0.2 bar(g)\"",
            "equipment[0].reference.ambient_pressure",
        ),
        (
            "steam_quality = 1",
            "",
            "equipment[0].tags.steam_temperature",
        ),
        (
            "combustion_air_humidity = \"60 %\"",
            "combustion_air_humidity = \"60 %\"\nduty = { tag = \"JT-1\", unit = \"MW\" }",
            "equipment[0].tags.duty",
        ),
        (
            "blowdown_fraction = \"3 %\"",
            "blowdown_fraction = \"3 %\"\ndelivery_temperature = \"600 °C\"",
            "equipment[0].reference.delivery_temperature",
        ),
        (
            "fuel = { standard = \"natural_gas\" }",
            "fuel = { standard = \"natural_gas\", temperature = \"20 °C\" }",
            "equipment[0].fuel.temperature",
        ),
        (
            "fuel = { standard = \"natural_gas\" }",
            "fuel = { name = \"Gas\", kind = \"gas\", composition_mol_percent = { methane = 90.0 } }",
            "equipment[0].fuel.composition_mol_percent.sum",
        ),
        (
            "fuel = { standard = \"natural_gas\" }",
            "fuel = { standard = \"fuel_oil_no2\" }",
            "equipment[0].tags.fuel_flow.unit",
        ),
        (
            "range = { min = 0, max = 4000 }",
            "range = { min = 10, max = 0 }",
            "equipment[0].tags.fuel_flow.range",
        ),
        (
            "unit = \"Nm3/h\", uncertainty = \"1 %\"",
            "unit = \"Nm3/h\", uncertainty = \"1 %\", max_hold = \"0 s\"",
            "equipment[0].tags.fuel_flow.max_hold",
        ),
        (
            "combustion_air_humidity = \"60 %\"",
            "combustion_air_humidity = \"160 %\"",
            "equipment[0].tags.combustion_air_humidity",
        ),
    ];
    for (from, to, path) in cases {
        let (found, reason) = refusal(from, to);
        assert_eq!(&found, path, "{from} -> {to}: {reason}");
        assert!(!reason.is_empty());
    }
}

#[test]
fn a_second_unit_with_the_same_id_or_tag_is_refused() {
    let mut s = spec();
    s.equipment.push(s.equipment[0].clone());
    let e = s.validate().unwrap_err();
    assert_eq!(e.path(), "equipment[1].id");
    s.equipment[1].id = "BLR-002".to_string();
    let e = s.validate().unwrap_err();
    assert!(e.path().starts_with("equipment[1].tags."), "{e}");
    assert!(e.reason().contains("already feeds BLR-001"), "{e}");
}

#[test]
fn diff_lists_what_changed() {
    let old = spec();
    assert!(old.diff(&old).is_empty());
    let mut new = old.clone();
    new.name = "Renamed plant".to_string();
    new.equipment[0].rating = server::facility::Amount::text("30 MW");
    if let Some(server::facility::Source::Tag(t)) =
        new.equipment[0].tags.get_mut(&Quantity::SteamFlow)
    {
        t.unit = "kg/h".to_string();
    }
    new.equipment[0]
        .tags
        .remove(&Quantity::FeedwaterTemperature);
    let mut second = old.equipment[0].clone();
    second.id = "BLR-002".to_string();
    new.equipment.push(second);
    let changes = new.diff(&old);
    let lines: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "~ name: \"Test plant\" -> \"Renamed plant\"",
            "~ BLR-001.rating: \"25 MW\" -> \"30 MW\"",
            "~ BLR-001.tags.steam_flow: {\"tag\":\"FT-110\",\"uncertainty\":\"1.5 %\",\"unit\":\"t/h\"} -> {\"tag\":\"FT-110\",\"uncertainty\":\"1.5 %\",\"unit\":\"kg/h\"}",
            "- BLR-001.tags.feedwater_temperature: {\"tag\":\"TT-112\",\"uncertainty\":\"1 K\",\"unit\":\"°C\"}",
            "+ equipment BLR-002",
        ]
    );
    assert!(matches!(changes[4], Change::EquipmentAdded { .. }));
    let back = old.diff(&new);
    assert!(back.contains(&Change::EquipmentRemoved {
        equipment_id: "BLR-002".to_string()
    }));
    let json = serde_json::to_value(&changes[0]).unwrap();
    assert_eq!(json["change"], "facility_changed");
    assert_eq!(json["field"], "name");
}
