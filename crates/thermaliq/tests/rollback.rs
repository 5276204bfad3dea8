//! `scripts/rollback.sh` against a fake cluster and the real service: a `kubectl` stand-in on
//! PATH (tests/fixtures/rollback/kubectl, recording every call) and a real `thermaliq serve`
//! on loopback with a real `redis-server` cache standing in for the cluster Service. Also the
//! database side of a rollback (docs/runbooks/deployment-and-rollback.md): `db backup`,
//! `migrate down` one step, `migrate up`, nothing lost, on SQLite and on PostgreSQL.

#[path = "../../server/tests/api_support/redis.rs"]
#[allow(dead_code)]
mod redis_support;

#[allow(dead_code)]
mod ops_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use ops_support::{At, Databases, Served};
use redis_support::RedisServer;
use serde_json::Value;
use store::Role;

/// This build's version, the one `/health` reports and cache keys carry.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The version whose keys a rollback drops in these tests; another one's must stay.
const BAD: &str = "9.9.9";
const OTHER: &str = "0.0.1";

/// What the script printed and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A webhook receiver: answers 200 to every POST and hands over each body.
struct Webhook {
    url: String,
    bodies: Receiver<Value>,
}

impl Webhook {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("webhook port");
        let url = format!(
            "http://{}/hooks/T000/SECRET",
            listener.local_addr().unwrap()
        );
        let (tx, bodies) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).expect("webhook body");
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                let value = serde_json::from_slice(&body).expect("the notification is JSON");
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Self { url, bodies }
    }

    fn next(&self) -> Value {
        self.bodies
            .recv_timeout(Duration::from_secs(10))
            .expect("a notification")
    }

    fn assert_silent(&self) {
        assert!(
            self.bodies
                .recv_timeout(Duration::from_millis(300))
                .is_err(),
            "no notification expected"
        );
    }
}

/// The stand-in cluster: a real server on a SQLite store with the reference hour and the
/// demo facility, a real Redis as its cache, the fake kubectl, and tokens.
struct Cluster {
    dir: tempfile::TempDir,
    redis: RedisServer,
    served: Served,
    admin: String,
    operator: String,
    bin: PathBuf,
}

impl Cluster {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let at = At::Dir(dir.path().join("data"));
        let (admin, operator) = ops_support::runtime().block_on(async {
            let store = at.open().await;
            store.migrate_up(None).await.expect("migrated");
            let admin = ops_support::load_demo(&store, Role::Admin).await;
            let operator = ops_support::token(&store, Role::Operator).await;
            store.close().await;
            (admin, operator)
        });
        let redis = RedisServer::start();
        let served = Served::start(&at, &[("THERMALIQ_REDIS_URL", &redis.url())]);
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("bin");
        let kubectl = bin.join("kubectl");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rollback/kubectl"),
            &kubectl,
        )
        .expect("fake kubectl");
        std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755))
            .expect("executable");
        std::fs::write(dir.path().join("admin.token"), format!("{admin}\n")).expect("token");
        Self {
            dir,
            redis,
            served,
            admin,
            operator,
            bin,
        }
    }

    fn kubectl_log(&self) -> PathBuf {
        self.dir.path().join("kubectl.log")
    }

    /// The calls the fake kubectl received, one per line.
    fn kubectl_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.kubectl_log())
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// `bash -x scripts/rollback.sh ARGS` in the test directory with the fake kubectl first
    /// on PATH; `env` adds variables (THERMALIQ_TOKEN and THERMALIQ_URL are otherwise unset).
    fn rollback(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        std::fs::remove_file(self.kubectl_log()).ok();
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new("bash");
        command
            .arg("-x")
            .arg(ops_support::repo_root().join("scripts/rollback.sh"))
            .args(args)
            .current_dir(self.dir.path())
            .env("PATH", path)
            .env("FAKE_KUBECTL_LOG", self.kubectl_log())
            .env_remove("THERMALIQ_TOKEN")
            .env_remove("THERMALIQ_URL")
            .env_remove("FAKE_KUBECTL_FAIL")
            .stdin(Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        let out = command.output().expect("bash runs the script");
        let run = Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        // Whatever happened, no token is ever shown, not even by `bash -x`.
        for token in [&self.admin, &self.operator] {
            assert!(
                !run.all().contains(token.as_str()),
                "a token was shown:\n{}",
                run.all()
            );
            assert!(
                !self
                    .kubectl_calls()
                    .iter()
                    .any(|c| c.contains(token.as_str())),
                "a token reached kubectl"
            );
        }
        run
    }

    /// The common options: the service, the admin token file, a quick health wait.
    fn base_args(&self) -> Vec<String> {
        vec![
            "--url".into(),
            self.served.url(),
            "--token-file".into(),
            "admin.token".into(),
            "--health-wait".into(),
            "5".into(),
        ]
    }

    /// Cache entries of the bad and of another version, as older and newer replicas left them.
    fn seed_cache(&self) {
        for (version, hash) in [(BAD, "a1"), (BAD, "b2"), (OTHER, "c3")] {
            let key = format!("calculation:FAC-DEMO-001:v{version}:{hash}");
            self.redis_cmd(&["HSET", &key, "id", &format!("CALC-{hash}"), "doc", "{}"]);
        }
    }

    fn redis_cmd(&self, args: &[&str]) -> redis::Value {
        let mut conn = redis::Client::open(self.redis.url())
            .expect("redis url")
            .get_connection()
            .expect("redis connection");
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(&mut conn).expect("redis command")
    }

    /// Cache keys matching `pattern`, sorted.
    fn keys(&self, pattern: &str) -> Vec<String> {
        let redis::Value::Array(items) = self.redis_cmd(&["KEYS", pattern]) else {
            panic!("KEYS answers an array")
        };
        let mut keys: Vec<String> = items
            .into_iter()
            .map(|v| match v {
                redis::Value::BulkString(b) => String::from_utf8(b).expect("utf-8 key"),
                other => panic!("not a key: {other:?}"),
            })
            .collect();
        keys.sort();
        keys
    }

    fn cache_size(&self) -> u64 {
        self.served
            .json("GET", "/v1/thermaliq/admin/cache/stats", &self.admin, "")["size"]
            .as_u64()
            .expect("size")
    }

    fn calculation_count(&self) -> usize {
        self.served.json(
            "GET",
            "/v1/thermaliq/calculations?facility_id=FAC-DEMO-001",
            &self.admin,
            "",
        )["items"]
            .as_array()
            .expect("items")
            .len()
    }
}

/// The calculation id the script reported.
fn reported_calculation(run: &Run) -> String {
    let at = run
        .stderr
        .find("] Test calculation CALC-")
        .unwrap_or_else(|| panic!("no test calculation reported:\n{}", run.all()));
    run.stderr[at + "] Test calculation ".len()..]
        .split_whitespace()
        .next()
        .expect("id")
        .to_string()
}

#[test]
fn rollback_backs_up_undoes_verifies_and_drops_the_bad_versions_keys() {
    let c = Cluster::start();
    let hook = Webhook::start();
    c.seed_cache();
    assert_eq!(c.cache_size(), 3);
    let mut args = c.base_args();
    args.extend(
        [
            "--bad-version",
            BAD,
            "--webhook",
            &hook.url,
            "--backup-dir",
            "backups",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = c.rollback(&args, &[]);
    assert_eq!(run.code, Some(0), "{}", run.all());

    // kubectl: the spec saved before anything changes, then undo, wait, and the image read.
    assert_eq!(
        c.kubectl_calls(),
        [
            "get deployment thermaliq -n gl-009-production -o yaml",
            "rollout undo deployment/thermaliq -n gl-009-production",
            "rollout status deployment/thermaliq -n gl-009-production --timeout=5m",
            "get deployment thermaliq -n gl-009-production -o \
             jsonpath={.spec.template.spec.containers[?(@.name==\"thermaliq\")].image}",
        ]
    );
    let backups: Vec<_> = std::fs::read_dir(c.dir.path().join("backups"))
        .expect("backup directory")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let spec = std::fs::read_to_string(&backups[0]).expect("backup");
    assert!(spec.contains("kind: Deployment") && spec.contains("namespace: gl-009-production"));
    let mode = std::fs::metadata(&backups[0])
        .expect("backup")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "the backup is private to the operator");

    // The test calculation is stored and readable through the service.
    let id = reported_calculation(&run);
    let doc = c.served.json(
        "GET",
        &format!("/v1/thermaliq/calculations/{id}"),
        &c.admin,
        "",
    );
    assert_eq!(doc["status"], "completed");
    assert!(
        doc["efficiency"]
            .as_f64()
            .is_some_and(|e| e > 50.0 && e < 100.0)
    );
    assert!(
        run.stderr
            .contains(&format!("Service healthy, version {VERSION}"))
    );

    // The bad version's keys are gone; another version's and the new calculation's stay.
    assert!(c.keys(&format!("calculation:*:v{BAD}:*")).is_empty());
    assert_eq!(
        c.keys(&format!("calculation:*:v{OTHER}:*")),
        [format!("calculation:FAC-DEMO-001:v{OTHER}:c3")]
    );
    assert_eq!(c.keys(&format!("calculation:*:v{VERSION}:*")).len(), 1);
    assert_eq!(c.cache_size(), 2);
    assert!(
        run.stderr.contains("Cache entries dropped: 2"),
        "{}",
        run.stderr
    );

    let note = hook.next();
    assert_eq!(note["outcome"], "succeeded");
    assert_eq!(note["exit_code"], 0);
    assert_eq!(note["calculation_id"], id.as_str());
    assert_eq!(note["version"], VERSION);
    assert_eq!(note["bad_version"], BAD);
    assert!(!note.to_string().contains(&c.admin));
}

#[test]
fn dry_run_prints_the_calls_and_changes_nothing() {
    let c = Cluster::start();
    let hook = Webhook::start();
    c.seed_cache();
    let calculations = c.calculation_count();
    let mut args = c.base_args();
    args.extend(
        [
            "--bad-version",
            BAD,
            "--webhook",
            &hook.url,
            "--to-revision",
            "4",
            "--dry-run",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = c.rollback(&args, &[]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    for call in [
        "DRY-RUN: kubectl get deployment thermaliq -n gl-009-production -o yaml",
        "DRY-RUN: kubectl rollout undo deployment/thermaliq -n gl-009-production --to-revision=4",
        "DRY-RUN: kubectl rollout status deployment/thermaliq -n gl-009-production --timeout=5m",
        "/v1/thermaliq/health",
        "/v1/thermaliq/admin/cache/invalidate",
        "/v1/thermaliq/calculate",
        "/v1/thermaliq/calculations/CALC-",
    ] {
        assert!(
            run.stdout.contains(call),
            "{call} not shown:\n{}",
            run.stdout
        );
    }
    // The webhook URL is a credential: only its host is shown.
    assert!(!run.stdout.contains("SECRET"), "{}", run.stdout);
    assert!(c.kubectl_calls().is_empty(), "{:?}", c.kubectl_calls());
    assert!(!c.dir.path().join("backups").exists());
    assert_eq!(c.keys(&format!("calculation:*:v{BAD}:*")).len(), 2);
    assert_eq!(c.cache_size(), 3);
    assert_eq!(c.calculation_count(), calculations);
    hook.assert_silent();
}

#[test]
fn each_failure_stops_the_rollback_with_its_exit_code() {
    let c = Cluster::start();
    let hook = Webhook::start();
    let base = c.base_args();
    let with = |extra: &[&str]| -> Vec<String> {
        let mut v = base.clone();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |args: &[String], env: &[(&str, &str)]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        c.rollback(&args, env)
    };

    // The spec cannot be saved: nothing is rolled back.
    let r = run(
        &with(&["--webhook", &hook.url]),
        &[("FAKE_KUBECTL_FAIL", "get deployment")],
    );
    assert_eq!(r.code, Some(3), "{}", r.all());
    assert_eq!(c.kubectl_calls().len(), 1);
    let note = hook.next();
    assert_eq!(
        (note["outcome"].as_str(), note["exit_code"].as_i64()),
        (Some("failed"), Some(3))
    );
    assert_eq!(note["step"], "backup");
    let leftovers = std::fs::read_dir(c.dir.path().join("backups"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0, "no partial backup is left");

    // kubectl rollout undo fails: kubectl's exit code, no wait.
    let r = run(&with(&[]), &[("FAKE_KUBECTL_FAIL", "rollout undo")]);
    assert_eq!(r.code, Some(3), "{}", r.all());
    assert!(r.stderr.contains("the server is currently unable"));
    assert_eq!(c.kubectl_calls().len(), 2);

    // The rollout does not finish in time.
    let r = run(
        &with(&["--timeout", "2s"]),
        &[
            ("FAKE_KUBECTL_FAIL", "rollout status"),
            ("FAKE_KUBECTL_ERROR", "timed out waiting for the condition"),
        ],
    );
    assert_eq!(r.code, Some(4), "{}", r.all());
    assert!(c.kubectl_calls()[2].ends_with("--timeout=2s"));

    // No service behind the URL: health fails.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut args = with(&["--health-wait", "0"]);
    args[1] = dead;
    let r = run(&args, &[]);
    assert_eq!(r.code, Some(5), "{}", r.all());

    // The service runs, but not the version the rollback should have brought back.
    let r = run(&with(&["--expect-version", "0.0.0"]), &[]);
    assert_eq!(r.code, Some(5), "{}", r.all());
    assert!(
        r.stderr.contains(&format!("reports version {VERSION}")),
        "{}",
        r.stderr
    );

    // The test calculation is refused (no such facility).
    let bad_calc = c.dir.path().join("unknown.json");
    std::fs::write(
        &bad_calc,
        ops_support::test_calculation().replace("FAC-DEMO-001", "FAC-NOPE-404"),
    )
    .unwrap();
    let r = run(&with(&["--calculation", bad_calc.to_str().unwrap()]), &[]);
    assert_eq!(r.code, Some(6), "{}", r.all());

    // An operator token (from the environment) may calculate but not invalidate the cache.
    let mut args = with(&["--bad-version", BAD]);
    args.drain(2..4);
    let r = run(&args, &[("THERMALIQ_TOKEN", &c.operator)]);
    assert_eq!(r.code, Some(7), "{}", r.all());
    assert!(r.stderr.contains("HTTP 403"), "{}", r.stderr);

    // Everything worked but the webhook is unreachable.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let r = run(&with(&["--webhook", &gone]), &[]);
    assert_eq!(r.code, Some(8), "{}", r.all());

    // Usage errors change nothing.
    let mut no_token = with(&[]);
    no_token.drain(2..4);
    for (args, why) in [
        (no_token, "an API token is required"),
        (with(&["--to-revision", "two"]), "--to-revision"),
        (with(&["--bad-version", "latest"]), "--bad-version"),
        (with(&["--frobnicate"]), "unknown option --frobnicate"),
        (vec!["--token-file".into(), "admin.token".into()], "--url"),
    ] {
        let r = run(&args, &[]);
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.all());
        assert!(r.stderr.contains(why), "{args:?}: {}", r.stderr);
        assert!(c.kubectl_calls().is_empty());
    }
}

/// The database side of a rollback: back up, go back one migration, forward again; every
/// calculation stays readable through the service, and the backup restores.
fn database_rollback(at: &At, restore_into: &At, work: &Path) {
    let versions = ops_support::migration_versions(match at {
        At::Dir(_) => "sqlite",
        At::Url(_) => "postgres",
    });
    let (latest, previous) = (versions[versions.len() - 1], versions[versions.len() - 2]);
    let admin = ops_support::runtime().block_on(async {
        let store = at.open().await;
        store.migrate_up(None).await.expect("migrated");
        let token = ops_support::load_demo(&store, Role::Admin).await;
        store.close().await;
        token
    });
    let (id, efficiency) = {
        let served = Served::start(at, &[]);
        let doc = served.json(
            "POST",
            "/v1/thermaliq/calculate",
            &admin,
            &ops_support::test_calculation(),
        );
        (
            doc["calculation_id"].as_str().unwrap().to_string(),
            doc["efficiency"].clone(),
        )
    };

    let backup = work.join("before-rollback.backup");
    ops_support::ok(at, &["db", "backup", backup.to_str().unwrap()]);
    assert!(work.join("before-rollback.backup.sha256").exists());
    let current = ops_support::ok(at, &["migrate", "current"]);
    assert!(
        current.contains(&format!("current version: {latest}")),
        "{current}"
    );

    let down = ops_support::ok(at, &["migrate", "down"]);
    assert!(down.contains(&latest.to_string()), "{down}");
    let current = ops_support::ok(at, &["migrate", "current"]);
    assert!(
        current.contains(&format!("current version: {previous}")),
        "{current}"
    );
    assert!(current.contains("pending:         1"), "{current}");

    ops_support::ok(at, &["migrate", "up"]);
    let current = ops_support::ok(at, &["migrate", "current"]);
    assert!(
        current.contains(&format!("current version: {latest}"))
            && current.contains("status:          current"),
        "{current}"
    );

    let served = Served::start(at, &[]);
    let doc = served.json(
        "GET",
        &format!("/v1/thermaliq/calculations/{id}"),
        &admin,
        "",
    );
    assert_eq!(
        doc["efficiency"], efficiency,
        "the calculation survived down and up"
    );
    let (status, svg) = served.request(
        "GET",
        &format!("/v1/thermaliq/calculations/{id}/sankey"),
        Some(&admin),
        "",
    );
    assert_eq!(status, 200);
    assert!(svg.contains("<svg"));
    drop(served);

    ops_support::ok(restore_into, &["db", "restore", backup.to_str().unwrap()]);
    let served = Served::start(restore_into, &[]);
    let doc = served.json(
        "GET",
        &format!("/v1/thermaliq/calculations/{id}"),
        &admin,
        "",
    );
    assert_eq!(
        doc["efficiency"], efficiency,
        "the backup restores the calculation"
    );
}

#[test]
fn database_rollback_on_sqlite_keeps_every_calculation() {
    let dir = tempfile::tempdir().unwrap();
    database_rollback(
        &At::Dir(dir.path().join("data")),
        &At::Dir(dir.path().join("restored")),
        dir.path(),
    );
}

#[test]
fn database_rollback_on_postgres_keeps_every_calculation() {
    let mut dbs = Databases::new("thermaliq_rollback");
    let (a, b) = (dbs.create("a"), dbs.create("b"));
    let dir = tempfile::tempdir().unwrap();
    database_rollback(&At::Url(a), &At::Url(b), dir.path());
}
