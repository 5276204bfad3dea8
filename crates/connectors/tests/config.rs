//! The `connectors` section as a facility file carries it: the documented example reads and
//! validates, and each bad value is refused naming its field.

use connectors::modbus::{ConnectorsConfig, DataType, Order, RegisterFunction};

/// The facility file around the section.
#[derive(Debug, serde::Deserialize)]
struct FacilityFile {
    connectors: ConnectorsConfig,
}

/// The first TOML example of `docs/CONNECTORS.md`: what operators copy must read.
fn example() -> String {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/CONNECTORS.md"
    ))
    .expect("docs/CONNECTORS.md");
    let start = doc.find("```toml\n").expect("a TOML example") + "```toml\n".len();
    let end = start + doc[start..].find("```").expect("its end");
    doc[start..end].to_string()
}

fn read(text: &str) -> ConnectorsConfig {
    toml::from_str::<FacilityFile>(text)
        .expect("the section reads")
        .connectors
}

#[test]
fn the_documented_example_reads_and_validates() {
    let c = read(&example());
    c.validate().expect("valid");
    assert_eq!(c.buffer_limit, 50_000);
    let d = &c.modbus[0];
    assert_eq!(
        (d.port, d.unit_id, d.retries, d.breaker_failures),
        (502, 1, 2, 3)
    );
    let p = &d.points[0];
    assert_eq!(p.function, RegisterFunction::Holding);
    assert_eq!(p.data_type, DataType::F32);
    assert_eq!(p.word_order, Some(Order::Little));
    assert_eq!(p.byte_order, None);
    assert_eq!((p.scale, p.offset), (1.0, 0.0));
    assert_eq!(d.points[2].offset, -273.15);
}

#[test]
fn defaults_fill_what_a_minimal_device_leaves_out() {
    let c = read(
        r#"
        [[connectors.modbus]]
        name = "m"
        host = "127.0.0.1"
        points = [{ tag = "T", address = 3, function = "input", data_type = "u16", unit = "kW" }]
        "#,
    );
    c.validate().expect("valid");
    assert_eq!(c.buffer_limit, connectors::config::DEFAULT_BUFFER_LIMIT);
    let d = &c.modbus[0];
    assert_eq!((d.port, d.unit_id), (502, 1));
    assert_eq!((d.poll_interval_s, d.timeout_s), (1.0, 1.0));
    assert_eq!((d.retries, d.retry_backoff_s), (2, 0.1));
    assert_eq!((d.breaker_failures, d.breaker_open_s), (3, 30.0));
}

/// Replaces `from` in the example by `to` and returns the refusal.
fn refused(from: &str, to: &str) -> String {
    let example = example();
    assert!(example.contains(from), "{from}");
    let c = read(&example.replacen(from, to, 1));
    c.validate().expect_err("refused").to_string()
}

#[test]
fn each_bad_value_is_refused_naming_its_field() {
    let m = "connectors.modbus[0]";
    let cases = [
        (
            "address = 0",
            "address = 70000",
            format!("{m}.points[0].address: 70000"),
        ),
        // An f32 needs registers 65535 and 65536: past the end.
        (
            "address = 0",
            "address = 65535",
            format!("{m}.points[0].address: a f32 needs 2"),
        ),
        (
            "data_type = \"i16\"",
            "data_type = \"i16\"\nword_order = \"big\"",
            format!("{m}.points[1].word_order: a i16 is a single register"),
        ),
        (
            "scale = 0.01",
            "scale = nan",
            format!("{m}.points[1].scale: NaN"),
        ),
        (
            "scale = 0.01",
            "scale = 0.0",
            format!("{m}.points[1].scale: 0"),
        ),
        (
            "offset = -273.15",
            "offset = inf",
            format!("{m}.points[2].offset: inf"),
        ),
        (
            "unit = \"°C\"",
            "unit = \" \"",
            format!("{m}.points[2].unit"),
        ),
        (
            "tag = \"BLR-001.steam_pressure\"",
            "tag = \"BLR-001.fuel_flow\"",
            format!("{m}.points[1].tag"),
        ),
        (
            "poll_interval_s = 1.0",
            "poll_interval_s = 0.0",
            format!("{m}.poll_interval_s: 0 s"),
        ),
        (
            "poll_interval_s = 1.0",
            "poll_interval_s = -1.0",
            format!("{m}.poll_interval_s"),
        ),
        (
            "timeout_s = 0.5",
            "timeout_s = inf",
            format!("{m}.timeout_s"),
        ),
        (
            "retry_backoff_s = 0.1",
            "retry_backoff_s = -0.1",
            format!("{m}.retry_backoff_s"),
        ),
        (
            "breaker_open_s = 30",
            "breaker_open_s = 0",
            format!("{m}.breaker_open_s"),
        ),
        (
            "breaker_failures = 3",
            "breaker_failures = 0",
            format!("{m}.breaker_failures"),
        ),
        ("retries = 2", "retries = 11", format!("{m}.retries")),
        ("unit_id = 1", "unit_id = 300", format!("{m}.unit_id: 300")),
        ("port = 502", "port = 0", format!("{m}.port: 0")),
        ("port = 502", "port = 70000", format!("{m}.port: 70000")),
        ("host = \"10.20.0.15\"", "host = \"\"", format!("{m}.host")),
        (
            "buffer_limit = 50000",
            "buffer_limit = 0",
            "connectors.buffer_limit".to_string(),
        ),
    ];
    for (from, to, expected) in cases {
        let message = refused(from, to);
        assert!(message.starts_with(&expected), "{to}: {message}");
    }
}

#[test]
fn device_names_are_unique_and_a_device_needs_points() {
    let example = example();
    let device = example.find("[[connectors.modbus]]").expect("a device");
    let twice = format!("{example}\n{}", &example[device..]);
    let message = read(&twice).validate().expect_err("refused").to_string();
    assert!(
        message.starts_with("connectors.modbus[1].name"),
        "{message}"
    );
    let none = read("[[connectors.modbus]]\nname = \"m\"\nhost = \"h\"\npoints = []\n");
    let message = none.validate().expect_err("refused").to_string();
    assert!(
        message.starts_with("connectors.modbus[0].points"),
        "{message}"
    );
}

#[test]
fn unknown_keys_and_values_are_refused_by_the_reader() {
    let typo = example().replacen("word_order", "word_ordr", 1);
    assert!(toml::from_str::<FacilityFile>(&typo).is_err());
    let bad = example().replacen("\"holding\"", "\"coil\"", 1);
    let message = toml::from_str::<FacilityFile>(&bad)
        .expect_err("refused")
        .to_string();
    assert!(message.contains("function"), "{message}");
}
