//! The expand/contract policy of docs/runbooks/schema-compatibility.md holds:
//!
//! - every migration's up script in crates/store/migrations/{sqlite,postgres} only adds
//!   (no DROP, RENAME, type change, row rewrite, new constraint or NOT NULL column without a
//!   default on an existing table), except the reviewed statements of [`REVIEWED`], each with
//!   its reason; every up script has its down script, the same versions on both backends;
//! - data written at the previous migration level (N-1) — facility, readings, token,
//!   calculation — is served by the current binary after its start-up upgrade: /health, POST
//!   /calculate, GET /calculations/{id}, sankey, benchmark, with the same numbers;
//! - the current binary starts and serves on a schema one additive migration newer than it
//!   knows, which is what release N-1 meets after a rollback from release N.

#[allow(dead_code)]
mod ops_support;

use ops_support::{At, Databases, Served};
use serde_json::Value;
use store::Role;

/// Statements that break the additive rule on their face, reviewed as compatible:
/// (dialect, version, statement start, reason).
const REVIEWED: &[(&str, i64, &str, &str)] = &[
    (
        "sqlite",
        20261126000004,
        "DROP VIEW READINGS_BY_TAG",
        "the view depends on the table being rebuilt; the same migration recreates it with \
         the same definition",
    ),
    (
        "sqlite",
        20261126000004,
        "DROP TABLE READINGS",
        "SQLite cannot drop a foreign key in place: the table is rebuilt as readings_unkeyed \
         with the same columns, types, key and checks, every row copied before the drop; \
         readers and writers of the previous release see the same shape",
    ),
    (
        "sqlite",
        20261126000004,
        "ALTER TABLE READINGS_UNKEYED RENAME TO READINGS",
        "the last step of the same rebuild: the copy takes the original name",
    ),
    (
        "postgres",
        20261126000004,
        "ALTER TABLE READINGS DROP CONSTRAINT READINGS_SERIES_ID_FKEY",
        "relaxes a constraint: every write the previous release makes still passes, and the \
         delete it guarded is refused by the trigger created in the same migration",
    ),
];

/// The statements of a migration script, comments removed, whitespace collapsed, upper
/// case; `;` inside quotes, `$$` bodies and trigger bodies does not end a statement.
fn statements(sql: &str) -> Vec<String> {
    let text: String = sql
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut dollar) = (false, false);
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !quoted && c == '$' && chars.get(i + 1) == Some(&'$') {
            dollar = !dollar;
            current.push_str("$$");
            i += 2;
            continue;
        }
        if !dollar && c == '\'' {
            quoted = !quoted;
        }
        if c == ';' && !quoted && !dollar {
            let normal = normalize(&current);
            let in_trigger = normal.starts_with("CREATE TRIGGER")
                && normal.contains(" BEGIN ")
                && !normal.ends_with(" END");
            if in_trigger {
                current.push(';');
            } else {
                if !normal.is_empty() {
                    out.push(normal);
                }
                current.clear();
            }
        } else {
            current.push(c);
        }
        i += 1;
    }
    let rest = normalize(&current);
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

fn normalize(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// Why a statement is not additive by the policy; `None` when it only adds.
fn violation(s: &str) -> Option<&'static str> {
    if s.starts_with("CREATE OR REPLACE") {
        return Some("replaces an existing object");
    }
    if s.starts_with("CREATE ") || s.starts_with("INSERT ") {
        return None;
    }
    if s.starts_with("DROP ") {
        return Some("drops an object");
    }
    if s.starts_with("UPDATE ") || s.starts_with("DELETE ") {
        return Some("rewrites or deletes existing rows");
    }
    if !s.starts_with("ALTER TABLE ") {
        return Some("not a statement the policy knows to be additive");
    }
    if s.contains(" RENAME ") {
        return Some("renames a table or column");
    }
    if s.contains(" DROP ") {
        return Some("drops a column, default or constraint");
    }
    if s.contains(" TYPE ") {
        return Some("changes a column type");
    }
    if s.contains("SET NOT NULL") {
        return Some("makes an existing column NOT NULL");
    }
    if s.contains(" ADD CONSTRAINT")
        || s.contains(" ADD CHECK")
        || s.contains(" ADD FOREIGN KEY")
        || s.contains(" ADD UNIQUE")
        || s.contains(" ADD PRIMARY KEY")
    {
        return Some("adds a constraint the previous release's writes may break");
    }
    if s.contains(" ADD ") {
        if s.contains("NOT NULL") && !s.contains(" DEFAULT ") {
            return Some("adds a NOT NULL column without a default");
        }
        return None;
    }
    Some("an ALTER TABLE the policy does not know to be additive")
}

/// The up scripts of a dialect: (version, file name, text).
fn up_scripts(dialect: &str) -> Vec<(i64, String, String)> {
    let dir = ops_support::repo_root()
        .join("crates/store/migrations")
        .join(dialect);
    let mut scripts: Vec<(i64, String, String)> = std::fs::read_dir(&dir)
        .expect("migrations directory")
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?.to_string();
            let version = name
                .strip_suffix(".up.sql")?
                .split_once('_')?
                .0
                .parse()
                .ok()?;
            Some((version, name, std::fs::read_to_string(&path).ok()?))
        })
        .collect();
    scripts.sort();
    scripts
}

#[test]
fn the_check_catches_what_the_policy_forbids() {
    for (sql, expected) in [
        (
            "ALTER TABLE calculations DROP COLUMN efficiency",
            Some("drops"),
        ),
        ("DROP TABLE equipment_flags", Some("drops an object")),
        (
            "ALTER TABLE calculations RENAME COLUMN efficiency TO eff",
            Some("renames"),
        ),
        (
            "ALTER TABLE calculations ALTER COLUMN efficiency TYPE NUMERIC",
            Some("type"),
        ),
        (
            "ALTER TABLE calculations ALTER COLUMN failure_reason SET NOT NULL",
            Some("NOT NULL"),
        ),
        (
            "ALTER TABLE calculations ADD COLUMN site TEXT NOT NULL",
            Some("NOT NULL column"),
        ),
        (
            "ALTER TABLE calculations ADD CONSTRAINT c CHECK (efficiency > 1)",
            Some("constraint"),
        ),
        ("UPDATE calculations SET efficiency = 0", Some("rewrites")),
        ("CREATE OR REPLACE VIEW v AS SELECT 1", Some("replaces")),
        (
            "ALTER TABLE calculations ADD COLUMN site TEXT NOT NULL DEFAULT ''",
            None,
        ),
        ("ALTER TABLE calculations ADD COLUMN note TEXT", None),
        ("CREATE INDEX i ON calculations (facility_id)", None),
    ] {
        let found = statements(sql).iter().find_map(|s| violation(s));
        match (found, expected) {
            (None, None) => {}
            (Some(why), Some(part)) => assert!(why.contains(part), "{sql}: {why}"),
            (found, expected) => panic!("{sql}: found {found:?}, expected {expected:?}"),
        }
    }
    // A trigger body's `;` does not end the statement; a `$$` body's neither.
    let trigger = "CREATE TRIGGER t BEFORE DELETE ON s BEGIN SELECT RAISE(ABORT, 'x; y'); END;\n\
                   CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RETURN OLD; END; $$;";
    assert_eq!(statements(trigger).len(), 2, "{:?}", statements(trigger));
}

#[test]
fn every_up_migration_is_additive_or_a_reviewed_exception() {
    let mut used = vec![false; REVIEWED.len()];
    let mut problems = Vec::new();
    let mut versions = Vec::new();
    for dialect in ["sqlite", "postgres"] {
        let scripts = up_scripts(dialect);
        assert!(!scripts.is_empty(), "no {dialect} migrations found");
        versions.push(scripts.iter().map(|(v, _, _)| *v).collect::<Vec<_>>());
        for (version, name, text) in &scripts {
            let down = name.replace(".up.sql", ".down.sql");
            let down_path = ops_support::repo_root()
                .join("crates/store/migrations")
                .join(dialect)
                .join(&down);
            assert!(down_path.exists(), "{dialect}/{name} has no {down}");
            for statement in statements(text) {
                let Some(why) = violation(&statement) else {
                    continue;
                };
                let reviewed = REVIEWED.iter().position(|(d, v, start, _)| {
                    *d == dialect && v == version && statement.starts_with(start)
                });
                match reviewed {
                    Some(i) => used[i] = true,
                    None => problems.push(format!("{dialect}/{name}: {why}: {statement}")),
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "not additive (docs/runbooks/schema-compatibility.md): split the change into expand and \
         contract, or review it into REVIEWED with the reason:\n{}",
        problems.join("\n")
    );
    let stale: Vec<_> = REVIEWED
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(r, _)| r.2)
        .collect();
    assert!(
        stale.is_empty(),
        "reviewed exceptions matching nothing: {stale:?}"
    );
    assert_eq!(
        versions[0], versions[1],
        "SQLite and PostgreSQL have the same versions"
    );
}

/// The dialect of a store.
fn dialect(at: &At) -> &'static str {
    match at {
        At::Dir(_) => "sqlite",
        At::Url(_) => "postgres",
    }
}

/// Data written at the previous migration level, then the current binary started on it.
fn previous_level_is_served(at: &At) {
    let versions = ops_support::migration_versions(dialect(at));
    let (latest, previous) = (versions[versions.len() - 1], versions[versions.len() - 2]);
    let (token, written) = ops_support::runtime().block_on(async {
        let store = at.open().await;
        store
            .migrate_up(Some(previous))
            .await
            .expect("migrated to N-1");
        let status = store.migration_status().await.expect("status");
        assert_eq!(status.current_version, Some(previous));
        let token = ops_support::load_demo(&store, Role::Admin).await;
        let doc = ops_support::calculate_in_process(&store).await;
        store.close().await;
        (token, doc)
    });
    assert_eq!(written["status"], "completed");
    let id = written["calculation_id"].as_str().expect("id");

    let served = Served::start(at, &[]);
    let applied: Vec<&Value> = served
        .startup
        .iter()
        .filter(|l| l["fields"]["message"] == "migration applied")
        .map(|l| &l["fields"]["version"])
        .collect();
    assert_eq!(
        applied,
        [&Value::from(latest)],
        "serve upgraded N-1 to N at start"
    );
    let health = served.json("GET", "/v1/thermaliq/health", &token, "");
    assert_eq!(health["status"], "healthy");
    let (status, _) = served.request("GET", "/v1/thermaliq/ready", None, "");
    assert_eq!(status, 200);

    let read = served.json(
        "GET",
        &format!("/v1/thermaliq/calculations/{id}"),
        &token,
        "",
    );
    for field in [
        "efficiency",
        "energy_balance_percent",
        "provenance",
        "time_period",
        "equipment",
    ] {
        assert_eq!(read[field], written[field], "{field} as written at N-1");
    }
    let (status, svg) = served.request(
        "GET",
        &format!("/v1/thermaliq/calculations/{id}/sankey"),
        Some(&token),
        "",
    );
    assert_eq!(status, 200);
    assert!(svg.contains("<svg"), "{svg}");
    let benchmark: Value = served.json(
        "GET",
        &format!("/v1/thermaliq/calculations/{id}/benchmark"),
        &token,
        "",
    );
    assert!(benchmark.is_object(), "{benchmark}");

    // A new calculation over readings ingested at N-1.
    let body = ops_support::test_calculation()
        .replace("00:00:00Z", "00:10:00Z")
        .replace("01:00:00Z", "00:40:00Z");
    let new = served.json("POST", "/v1/thermaliq/calculate", &token, &body);
    assert_eq!(new["status"], "completed");
    assert_ne!(new["calculation_id"], written["calculation_id"]);
}

#[test]
fn sqlite_data_written_at_the_previous_level_is_served_after_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    previous_level_is_served(&At::Dir(dir.path().join("data")));
}

#[test]
fn postgres_data_written_at_the_previous_level_is_served_after_the_upgrade() {
    let mut dbs = Databases::new("thermaliq_compat_prev");
    previous_level_is_served(&At::Url(dbs.create("db")));
}

/// A database one additive migration newer than this binary: what release N-1 finds after a
/// rollback from N. The binary must start, be ready and serve what is stored.
fn newer_schema_is_served(at: &At, apply_sql: impl FnOnce(&str)) {
    let versions = ops_support::migration_versions(dialect(at));
    let future = versions[versions.len() - 1] + 1;
    let (token, written) = ops_support::runtime().block_on(async {
        let store = at.open().await;
        store.migrate_up(None).await.expect("migrated");
        let token = ops_support::load_demo(&store, Role::Admin).await;
        let doc = ops_support::calculate_in_process(&store).await;
        store.close().await;
        (token, doc)
    });
    let checksum = match at {
        At::Dir(_) => "x'00'",
        At::Url(_) => "'\\x00'::bytea",
    };
    apply_sql(&format!(
        "CREATE TABLE compat_next_release (id TEXT NOT NULL PRIMARY KEY); \
         INSERT INTO schema_migrations (version, description, success, checksum, execution_time) \
         VALUES ({future}, 'compat next release', TRUE, {checksum}, 0)"
    ));
    let current = ops_support::ok(at, &["migrate", "current"]);
    assert!(current.contains("unknown:         1"), "{current}");

    let served = Served::start(at, &[]);
    let (status, ready) = served.request("GET", "/v1/thermaliq/ready", None, "");
    assert_eq!(status, 200, "{ready}");
    let id = written["calculation_id"].as_str().expect("id");
    let read = served.json(
        "GET",
        &format!("/v1/thermaliq/calculations/{id}"),
        &token,
        "",
    );
    assert_eq!(read["efficiency"], written["efficiency"]);
    let body = ops_support::test_calculation()
        .replace("00:00:00Z", "00:20:00Z")
        .replace("01:00:00Z", "00:50:00Z");
    let new = served.json("POST", "/v1/thermaliq/calculate", &token, &body);
    assert_eq!(new["status"], "completed");
}

#[test]
fn sqlite_schema_one_migration_ahead_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = data.join("thermaliq.db");
    newer_schema_is_served(&At::Dir(data), |sql| {
        let conn = rusqlite::Connection::open(&db).expect("sqlite");
        conn.execute_batch(sql).expect("newer migration applied");
    });
}

#[test]
fn postgres_schema_one_migration_ahead_is_served() {
    let mut dbs = Databases::new("thermaliq_compat_next");
    let url = dbs.create("db");
    newer_schema_is_served(&At::Url(url.clone()), |sql| ops_support::psql(&url, sql));
}
