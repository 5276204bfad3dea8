//! The deployment artefacts (deploy/, Dockerfile) against the real binary and server: the
//! kustomize build (`kubectl kustomize`, else the base files with the overlay applied here)
//! has the names, labels, replicas, namespace, probes and shutdown timing of the contract; the
//! Deployment's own ConfigMap, Secret mounts and environment start the real `thermaliq serve`
//! on PostgreSQL (THERMALIQ_TEST_POSTGRES_URL) and a password-protected `redis-server`, after
//! the migration Job's command migrated the database; every probe path answers 200 on the
//! manifest's port mapped to the test's; the Dockerfile's HEALTHCHECK command passes against
//! it and fails when the database is gone; every metric the alert rules, the AnalysisTemplate
//! and the dashboard read is in a live scrape; the version is the workspace's everywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

/// The namespace of the runbook.
const NAMESPACE: &str = "gl-009-production";

/// The version every artefact must carry: the workspace's (`version.workspace = true`).
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// 2025-11-01T00:00:00Z, µs: the demo readings' start.
const START_US: i64 = 1_761_955_200_000_000;

/// How long any expected log line, answer or metric may take.
const PATIENCE: Duration = Duration::from_secs(30);

/// Test values of the Secret's keys (PostgreSQL trusts the test client; Redis checks its).
const SECRET_VALUES: [(&str, &str); 3] = [
    ("database-password", "test-database-password"),
    ("redis-password", "test-redis-password"),
    ("token-pepper", "test-pepper-0123456789abcdef"),
];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every document of a YAML stream, as JSON values.
fn yaml_documents(text: &str, what: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{what}: {e}")))
        .filter(|v| !v.is_null())
        .collect()
}

fn yaml_file(path: &str) -> Value {
    let mut docs = yaml_documents(&read(path), path);
    assert_eq!(docs.len(), 1, "{path}: one document expected");
    docs.remove(0)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The objects of `deploy/<variant>`: `kubectl kustomize` when kubectl is on PATH, else
/// [`kustomize_by_hand`].
fn built(variant: &str) -> Vec<Value> {
    match Command::new("kubectl")
        .arg("kustomize")
        .arg(repo(&format!("deploy/{variant}")))
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "kubectl kustomize deploy/{variant}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            yaml_documents(&String::from_utf8_lossy(&out.stdout), variant)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("kubectl not on PATH: building deploy/{variant} by hand");
            kustomize_by_hand(&format!("deploy/{variant}"))
        }
        Err(e) => panic!("kubectl: {e}"),
    }
}

/// For machines without kubectl: the kustomization in `dir` built with the features this
/// repository's kustomizations use (resources as files or directories, a ConfigMap generator,
/// namespace, labels, replicas, images, JSON-patch `replace`); anything else is refused.
fn kustomize_by_hand(dir: &str) -> Vec<Value> {
    let k = yaml_file(&format!("{dir}/kustomization.yaml"));
    let known = [
        "apiVersion",
        "kind",
        "namespace",
        "resources",
        "configMapGenerator",
        "labels",
        "replicas",
        "images",
        "patches",
    ];
    for key in k.as_object().unwrap().keys() {
        assert!(
            known.contains(&key.as_str()),
            "{dir}: {key} is not built by hand"
        );
    }
    let mut objects = Vec::new();
    for resource in strings(&k["resources"]) {
        let path = format!("{dir}/{resource}");
        if repo(&path).is_dir() {
            objects.extend(kustomize_by_hand(&path));
        } else {
            objects.extend(yaml_documents(&read(&path), &path));
        }
    }
    for generator in k["configMapGenerator"].as_array().into_iter().flatten() {
        let mut data = serde_json::Map::new();
        for file in strings(&generator["files"]) {
            data.insert(file.clone(), read(&format!("{dir}/{file}")).into());
        }
        objects.push(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": generator["name"], "labels": generator["options"]["labels"]},
            "data": data,
        }));
    }
    for object in &mut objects {
        if k["namespace"].is_string() && object["kind"] != "Namespace" {
            object["metadata"]["namespace"] = k["namespace"].clone();
        }
        for set in k["labels"].as_array().into_iter().flatten() {
            for (key, v) in set["pairs"].as_object().into_iter().flatten() {
                object["metadata"]["labels"][key] = v.clone();
                if set["includeTemplates"] == true && object["spec"]["template"].is_object() {
                    object["spec"]["template"]["metadata"]["labels"][key] = v.clone();
                }
            }
        }
        for replicas in k["replicas"].as_array().into_iter().flatten() {
            if object["metadata"]["name"] == replicas["name"] && object["spec"]["replicas"].is_u64()
            {
                object["spec"]["replicas"] = replicas["count"].clone();
            }
        }
        let containers = &mut object["spec"]["template"]["spec"]["containers"];
        for container in containers.as_array_mut().into_iter().flatten() {
            for image in k["images"].as_array().into_iter().flatten() {
                if container["image"] == image["name"] {
                    let name = image["newName"].as_str().or(image["name"].as_str());
                    container["image"] = format!(
                        "{}:{}",
                        name.unwrap_or_default(),
                        image["newTag"].as_str().unwrap_or_default()
                    )
                    .into();
                }
            }
        }
        for patch in k["patches"].as_array().into_iter().flatten() {
            let target = &patch["target"];
            if object["kind"] != target["kind"] || object["metadata"]["name"] != target["name"] {
                continue;
            }
            let ops = yaml_documents(patch["patch"].as_str().unwrap(), dir).remove(0);
            for op in ops.as_array().unwrap() {
                assert_eq!(op["op"], "replace", "{dir}: only replace is built by hand");
                let at = op["path"].as_str().unwrap();
                *object
                    .pointer_mut(at)
                    .unwrap_or_else(|| panic!("{dir}: no {at} to replace")) = op["value"].clone();
            }
        }
    }
    objects
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the build"))
}

/// The one container named `name` of a pod template.
fn container<'a>(workload: &'a Value, name: &str) -> &'a Value {
    workload["spec"]["template"]["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no container {name}: {workload}"))
}

/// The container port a probe or Service names (by name or number).
fn container_port(container: &Value, port: &Value) -> u64 {
    if let Some(n) = port.as_u64() {
        return n;
    }
    container["ports"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == *port))
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("port {port} is not a port of the container"))
}

/// The settings the server itself derives from the ConfigMap's file (no environment).
fn configmap_settings(objects: &[Value], dir: &Path) -> server::settings::Settings {
    let text = find(objects, "ConfigMap", "thermaliq-config")["data"]["config.toml"]
        .as_str()
        .expect("the ConfigMap holds config.toml")
        .to_string();
    let file = dir.join("config.toml");
    std::fs::write(&file, text).unwrap();
    server::config::ConfigSource::new(Some(file), server::config::Overrides::default())
        .load()
        .unwrap_or_else(|e| panic!("the ConfigMap's config.toml does not load: {e}"))
}

/// The seconds of a preStop `sleep N` hook.
fn prestop_sleep(container: &Value) -> f64 {
    let command = strings(&container["lifecycle"]["preStop"]["exec"]["command"]);
    match command.as_slice() {
        [sleep, n] if sleep == "sleep" => n.parse().expect("sleep seconds"),
        other => panic!("preStop is not `sleep N`: {other:?}"),
    }
}

#[test]
fn production_overlay_has_the_names_labels_replicas_and_timing_of_the_contract() {
    let objects = built("overlays/production");
    for o in &objects {
        if o["kind"] != "Namespace" {
            assert_eq!(o["metadata"]["namespace"], NAMESPACE, "{}", o["metadata"]);
        }
    }
    find(&objects, "Namespace", NAMESPACE);

    let deployment = find(&objects, "Deployment", "thermaliq");
    let spec = &deployment["spec"];
    assert_eq!(spec["replicas"], 4);
    assert_eq!(spec["strategy"]["type"], "RollingUpdate");
    assert_eq!(spec["strategy"]["rollingUpdate"]["maxUnavailable"], 0);
    assert_eq!(spec["selector"]["matchLabels"], json!({"app": "thermaliq"}));
    for labels in [
        &deployment["metadata"]["labels"],
        &spec["template"]["metadata"]["labels"],
    ] {
        assert_eq!(labels["app"], "thermaliq", "{labels}");
        assert_eq!(labels["version"], VERSION, "{labels}");
    }
    let c = container(deployment, "thermaliq");
    let image = c["image"].as_str().expect("image");
    assert!(
        image.ends_with(&format!(":{VERSION}")),
        "the image tag is not the workspace version {VERSION}: {image}"
    );
    let overlay = yaml_file("deploy/overlays/production/kustomization.yaml");
    assert_eq!(overlay["images"][0]["newTag"], VERSION);

    // Probes on the paths of the contract, through the container's own port.
    assert_eq!(
        c["readinessProbe"]["httpGet"]["path"],
        "/v1/thermaliq/ready"
    );
    assert_eq!(
        c["livenessProbe"]["httpGet"]["path"],
        "/v1/thermaliq/health"
    );
    let dir = tempfile::tempdir().unwrap();
    let settings = configmap_settings(&objects, dir.path());
    for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
        let port = container_port(c, &c[probe]["httpGet"]["port"]);
        assert_eq!(
            port,
            u64::from(settings.bind.port()),
            "{probe}: the ConfigMap's bind is {}",
            settings.bind
        );
    }
    assert!(settings.bind.ip().is_unspecified(), "{}", settings.bind);

    // Shutdown: the kubelet waits for preStop plus the service's grace; endpoints are gone
    // (readiness failed) before the drain ends and the listener closes.
    let pod = &spec["template"]["spec"];
    let grace_period = pod["terminationGracePeriodSeconds"].as_f64().unwrap();
    let pre_stop = prestop_sleep(c);
    let grace = settings.shutdown_grace.as_secs_f64();
    let drain = settings.shutdown_drain.as_secs_f64();
    assert!(
        grace_period > pre_stop + grace,
        "terminationGracePeriodSeconds {grace_period} <= preStop {pre_stop} + grace {grace}"
    );
    assert!(drain > 0.0 && drain < grace, "drain {drain}, grace {grace}");
    let readiness = &c["readinessProbe"];
    let unready_after = readiness["periodSeconds"].as_f64().unwrap()
        * readiness["failureThreshold"].as_f64().unwrap();
    assert!(
        unready_after <= pre_stop + drain,
        "readiness fails after {unready_after} s, the listener closes after {}",
        pre_stop + drain
    );

    // Security context: read-only root, non-root, no escalation, no capabilities.
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert!(pod["securityContext"]["runAsUser"].as_u64().unwrap() > 0);
    for r in ["cpu", "memory"] {
        assert!(c["resources"]["requests"][r].is_string(), "requests.{r}");
    }
    assert!(c["resources"]["limits"]["memory"].is_string());

    // Service, PDB, HPA and ServiceMonitor reach the Deployment's pods and port.
    let service = find(&objects, "Service", "thermaliq");
    assert_eq!(service["spec"]["selector"], json!({"app": "thermaliq"}));
    let service_port = &service["spec"]["ports"][0];
    assert_eq!(
        container_port(c, &service_port["targetPort"]),
        u64::from(settings.bind.port())
    );
    let pdb = find(&objects, "PodDisruptionBudget", "thermaliq");
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"],
        json!({"app": "thermaliq"})
    );
    let hpa = find(&objects, "HorizontalPodAutoscaler", "thermaliq");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "thermaliq");
    assert!(hpa["spec"]["minReplicas"].as_u64().unwrap() >= 4);
    let monitor = find(&objects, "ServiceMonitor", "thermaliq");
    assert_eq!(
        monitor["spec"]["selector"]["matchLabels"]["app"],
        "thermaliq"
    );
    assert_eq!(
        monitor["spec"]["endpoints"][0]["port"],
        service_port["name"]
    );
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");

    // The Job migrates with exactly the Deployment's configuration and secrets.
    let job = find(&objects, "Job", "thermaliq-migrate");
    let migrate = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(strings(&migrate["args"]), ["migrate", "up"]);
    assert_eq!(migrate["image"], c["image"]);
    assert_eq!(migrate["env"], c["env"]);
    for mount in ["config", "secrets"] {
        let of = |w: &Value| {
            w["volumeMounts"]
                .as_array()
                .and_then(|ms| ms.iter().find(|m| m["name"] == mount).cloned())
        };
        assert_eq!(of(migrate), of(c), "mount {mount}");
    }

    // The Secret template has every key the mounts point at, and no other.
    let secret = yaml_file("deploy/base/secret.template.yaml");
    assert_eq!(secret["metadata"]["name"], "thermaliq-secrets");
    let keys: BTreeSet<String> = secret["stringData"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let (_, mapped) = pod_environment(deployment, Path::new("/config"), Path::new("/secrets"));
    let referenced: BTreeSet<String> = mapped
        .values()
        .filter_map(|p| p.strip_prefix("/secrets/").ok())
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(keys, referenced);
    let expected: BTreeSet<String> = SECRET_VALUES.iter().map(|(k, _)| k.to_string()).collect();
    assert_eq!(keys, expected);
}

/// The container environment of `workload`, with every path under the ConfigMap's and the
/// Secret's mounts moved to `config_dir` and `secrets_dir`; the second map holds the moved
/// paths by variable.
fn pod_environment(
    workload: &Value,
    config_dir: &Path,
    secrets_dir: &Path,
) -> (Vec<(String, String)>, BTreeMap<String, PathBuf>) {
    let pod = &workload["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let mut mounts = Vec::new();
    for volume in pod["volumes"].as_array().into_iter().flatten() {
        let to = if volume["configMap"]["name"] == "thermaliq-config" {
            config_dir
        } else if volume["secret"]["secretName"] == "thermaliq-secrets" {
            secrets_dir
        } else {
            continue;
        };
        let mount = c["volumeMounts"]
            .as_array()
            .and_then(|ms| ms.iter().find(|m| m["name"] == volume["name"]))
            .unwrap_or_else(|| panic!("volume {} is not mounted", volume["name"]));
        mounts.push((mount["mountPath"].as_str().unwrap().to_string(), to));
    }
    let mut env = Vec::new();
    let mut moved = BTreeMap::new();
    for var in c["env"].as_array().into_iter().flatten() {
        let name = var["name"].as_str().unwrap().to_string();
        let value = var["value"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: a plain value expected"));
        let mapped = mounts.iter().find_map(|(mount, to)| {
            Path::new(value)
                .strip_prefix(mount)
                .ok()
                .map(|rest| to.join(rest))
        });
        match mapped {
            Some(path) => {
                env.push((name.clone(), path.display().to_string()));
                moved.insert(name, path);
            }
            None => {
                assert!(
                    !value.starts_with('/'),
                    "{name}={value} is a path outside the ConfigMap and Secret mounts"
                );
                env.push((name, value.to_string()));
            }
        }
    }
    (env, moved)
}

#[test]
fn rollouts_variant_canaries_with_the_alerts_abort_thresholds() {
    let objects = built("rollouts");
    let rollout = find(&objects, "Rollout", "thermaliq");
    assert_eq!(rollout["metadata"]["namespace"], NAMESPACE);
    assert_eq!(rollout["spec"]["replicas"], 4);
    assert_eq!(rollout["spec"]["workloadRef"]["kind"], "Deployment");
    assert_eq!(rollout["spec"]["workloadRef"]["name"], "thermaliq");
    assert_eq!(
        find(&objects, "Deployment", "thermaliq")["spec"]["replicas"],
        0,
        "the Rollout owns the pods"
    );
    let hpa = find(&objects, "HorizontalPodAutoscaler", "thermaliq");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Rollout");

    let canary = &rollout["spec"]["strategy"]["canary"];
    assert_eq!(canary["maxUnavailable"], 0);
    let steps = canary["steps"].as_array().unwrap();
    let weights: Vec<u64> = steps
        .iter()
        .filter_map(|s| s["setWeight"].as_u64())
        .collect();
    assert!(
        weights.len() >= 2 && weights.windows(2).all(|w| w[0] < w[1]),
        "{weights:?}"
    );
    assert!(steps.iter().any(|s| s["pause"]["duration"].is_string()));
    let template = canary["analysis"]["templates"][0]["templateName"]
        .as_str()
        .unwrap();
    let analysis = find(&objects, "AnalysisTemplate", template);

    // The abort conditions are the decision matrix's, on the alerts' own recording rules.
    let recorded = recording_rules();
    let mut conditions = Vec::new();
    for metric in analysis["spec"]["metrics"].as_array().unwrap() {
        let query = metric["provider"]["prometheus"]["query"].as_str().unwrap();
        for name in metric_names(query) {
            assert!(
                recorded.contains(&name),
                "{}: {name} is not a recording rule of thermaliq-rules.yaml",
                metric["name"]
            );
        }
        conditions.push(metric["failureCondition"].as_str().unwrap().to_string());
    }
    for threshold in ["result[0] > 0.10", "result[0] > 0.50", "result[0] > 2"] {
        assert!(
            conditions.iter().any(|c| c.contains(threshold)),
            "no abort on {threshold}: {conditions:?}"
        );
    }
}

/// The names of the recording rules of thermaliq-rules.yaml.
fn recording_rules() -> BTreeSet<String> {
    let rules = yaml_file("deploy/prometheus/thermaliq-rules.yaml");
    rules["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["record"].as_str().map(str::to_string))
        .collect()
}

/// The THERMALIQ series names a PromQL expression reads (`thermaliq_…` metrics and
/// `thermaliq:…` recording rules), label matchers and strings skipped.
fn metric_names(query: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut word = String::new();
    let mut depth = 0;
    let mut quoted = false;
    for ch in query.chars().chain([' ']) {
        match ch {
            '"' => quoted = !quoted,
            '{' if !quoted => depth += 1,
            '}' if !quoted => depth -= 1,
            c if !quoted && depth == 0 && (c.is_ascii_alphanumeric() || c == '_' || c == ':') => {
                word.push(c);
                continue;
            }
            _ => {}
        }
        if word.starts_with("thermaliq_") || word.starts_with("thermaliq:") {
            names.insert(std::mem::take(&mut word));
        }
        word.clear();
    }
    names
}

#[test]
fn dockerfile_builds_the_binary_into_a_non_root_image_with_a_health_check() {
    let dockerfile = read("Dockerfile");
    let lines: Vec<&str> = dockerfile
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let stages: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert!(stages.len() >= 2, "multi-stage: {stages:?}");
    let build_stage = stages[0].split_whitespace().last().unwrap();
    assert!(
        dockerfile.contains("cargo build --release --locked -p thermaliq"),
        "the build stage builds the release binary"
    );
    let runtime_start = lines.iter().rposition(|l| l.starts_with("FROM ")).unwrap();
    let runtime = &lines[runtime_start..];
    assert!(
        runtime.iter().any(|l| l.starts_with(&format!(
            "COPY --from={build_stage} /src/target/release/thermaliq "
        ))),
        "the runtime stage copies the binary from {build_stage}"
    );
    let user = runtime
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER in the runtime stage");
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("USER {user} is not numeric"));
    assert!(uid > 0, "USER {user} is root");

    let port = server::settings::DEFAULT_BIND.port();
    let exposed = runtime
        .iter()
        .find_map(|l| l.strip_prefix("EXPOSE "))
        .expect("EXPOSE");
    assert_eq!(exposed.trim(), port.to_string());
    assert!(
        dockerfile.contains(&format!("THERMALIQ_BIND=0.0.0.0:{port}")),
        "the container listens on every interface at the default port"
    );
    let healthcheck = healthcheck_command(&dockerfile);
    assert_eq!(healthcheck[0], "thermaliq");
    assert_eq!(healthcheck[1], "health");
    assert!(
        healthcheck
            .iter()
            .any(|a| a == &format!("http://127.0.0.1:{port}")),
        "{healthcheck:?}"
    );
    // The version is not written into the Dockerfile: the build argument must equal the
    // binary's, or the build stops.
    assert!(!dockerfile.contains(VERSION), "a hard-coded version");
    assert!(dockerfile.contains("test \"${built}\" = \"thermaliq ${THERMALIQ_VERSION}\""));
    assert!(dockerfile.contains("org.opencontainers.image.version=\"${THERMALIQ_VERSION}\""));

    let out = Command::new(env!("CARGO_BIN_EXE_thermaliq"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("thermaliq {VERSION}")
    );
    let manifest = read("crates/thermaliq/Cargo.toml");
    assert!(manifest.contains("version.workspace = true"));
}

/// The HEALTHCHECK's command, from its JSON-array `CMD` (continuation lines joined).
fn healthcheck_command(dockerfile: &str) -> Vec<String> {
    let joined = dockerfile.replace("\\\n", " ");
    let line = joined
        .lines()
        .find(|l| l.trim_start().starts_with("HEALTHCHECK "))
        .expect("HEALTHCHECK");
    let (_, cmd) = line.split_once(" CMD ").expect("HEALTHCHECK ... CMD [...]");
    serde_json::from_str(cmd.trim()).expect("CMD as a JSON array")
}

/// `psql` from THERMALIQ_TEST_PG_BIN or PATH.
fn psql(url: &str, sql: &str) {
    let program = std::env::var_os("THERMALIQ_TEST_PG_BIN")
        .map_or_else(|| PathBuf::from("psql"), |d| Path::new(&d).join("psql"));
    let status = Command::new(program)
        .args(["-X", "-q", "-o", "/dev/null", "-v", "ON_ERROR_STOP=1"])
        .args(["-d", url, "-c", sql])
        .status()
        .expect("psql runs");
    assert!(status.success(), "psql {sql}");
}

/// A database of its own on the test server, dropped at the end.
struct Database {
    server: String,
    name: String,
    url: String,
}

impl Database {
    fn create() -> Self {
        let server = std::env::var("THERMALIQ_TEST_POSTGRES_URL").unwrap_or_else(|_| {
            panic!(
                "THERMALIQ_TEST_POSTGRES_URL is not set: this test needs a real PostgreSQL \
                 server; run `source scripts/test-services.sh` first (scripts/test.sh does)"
            )
        });
        let name = format!("thermaliq_deploy_{}", std::process::id());
        psql(&server, &format!("CREATE DATABASE \"{name}\""));
        let url = match server.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("THERMALIQ_TEST_POSTGRES_URL has no database path"),
        };
        Self { server, name, url }
    }

    /// Refuses (or again allows) new connections and ends the open ones: to the service,
    /// the database is gone.
    fn reachable(&self, yes: bool) {
        psql(
            &self.server,
            &format!("ALTER DATABASE \"{}\" ALLOW_CONNECTIONS {yes}", self.name),
        );
        if !yes {
            psql(
                &self.server,
                &format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
                    self.name
                ),
            );
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        psql(
            &self.server,
            &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
        );
    }
}

/// A `redis-server` on a free loopback port that requires a password.
struct Redis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    fn start(password: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().unwrap();
        let binary = std::env::var_os("THERMALIQ_TEST_REDIS_SERVER")
            .map_or_else(|| PathBuf::from("redis-server"), PathBuf::from);
        let child = Command::new(&binary)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--requirepass",
                password,
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({e})", binary.display()));
        let deadline = Instant::now() + PATIENCE;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server does not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The real binary run as the manifests run it: the pod's environment with the mounts moved
/// to local directories, the database and Redis addresses of the test.
struct Pod {
    env: Vec<(String, String)>,
}

impl Pod {
    fn command(&self, args: &[String]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_thermaliq"));
        command.args(args);
        for (k, _) in std::env::vars() {
            // Only what the manifest sets (and the test's addresses) reaches the binary.
            if k.starts_with("THERMALIQ_") && !k.starts_with("THERMALIQ_TEST_") {
                command.env_remove(k);
            }
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command.stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        self.command(&args).output().expect("the binary runs")
    }

    fn succeed(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// A running `thermaliq serve` and its JSON log lines.
struct Served {
    child: Child,
    logs: Receiver<Value>,
    addr: String,
    seen: Vec<Value>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn start(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("serve starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, logs) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let mut served = Self {
            child,
            logs,
            addr: String::new(),
            seen: Vec::new(),
        };
        let listening = served.wait_for_log("listening");
        served.addr = listening["fields"]["address"].as_str().unwrap().to_string();
        served
    }

    fn wait_for_log(&mut self, message: &str) -> Value {
        if let Some(v) = self.seen.iter().find(|v| v["fields"]["message"] == message) {
            return v.clone();
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.logs.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if v["fields"]["message"] == message {
                        return v;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("no {message:?} log line"),
                Err(RecvTimeoutError::Disconnected) => panic!("serve ended before {message:?}"),
            }
        }
    }

    fn request(&self, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).expect("connects");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).expect("an answer");
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }
}

fn calculate_body(start_min: i64, minutes: i64) -> String {
    let t = |m: i64| server::http::format_us(START_US + m * 60_000_000);
    json!({
        "facility_id": server::demo::FACILITY_ID,
        "time_period": {"start": t(start_min), "end": t(start_min + minutes)},
    })
    .to_string()
}

/// Every THERMALIQ metric name the rules, the AnalysisTemplate and the dashboard read, and
/// the recording rules they read, checked to be defined.
fn metrics_read_by_the_artefacts() -> BTreeSet<String> {
    let mut queries = Vec::new();
    let rules = yaml_file("deploy/prometheus/thermaliq-rules.yaml");
    for rule in rules["groups"][0]["rules"].as_array().unwrap() {
        queries.push(rule["expr"].as_str().unwrap().to_string());
    }
    let analysis = yaml_file("deploy/rollouts/analysistemplate.yaml");
    for metric in analysis["spec"]["metrics"].as_array().unwrap() {
        queries.push(
            metric["provider"]["prometheus"]["query"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let dashboard: Value = serde_json::from_str(&read("deploy/grafana/thermaliq-prod.json"))
        .expect("the dashboard is JSON");
    assert_eq!(dashboard["uid"], "thermaliq-prod");
    let variables = &dashboard["templating"]["list"];
    assert!(
        variables
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["type"] == "datasource" && v["query"] == "prometheus"),
        "the data source is a template variable"
    );
    for panel in dashboard["panels"].as_array().unwrap() {
        assert_eq!(
            panel["datasource"]["uid"], "${datasource}",
            "{}",
            panel["title"]
        );
        for target in panel["targets"].as_array().unwrap() {
            queries.push(target["expr"].as_str().unwrap().to_string());
        }
    }
    let recorded = recording_rules();
    let mut metrics = BTreeSet::new();
    for query in &queries {
        for name in metric_names(query) {
            if name.contains(':') {
                assert!(recorded.contains(&name), "{name} is not recorded: {query}");
            } else {
                metrics.insert(name);
            }
        }
    }
    metrics
}

/// The metric names with a HELP line in a scrape, with their TYPE.
fn described(scrape: &str) -> BTreeMap<String, String> {
    let mut types = BTreeMap::new();
    for line in scrape.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ")
            && let Some((name, kind)) = rest.split_once(' ')
            && scrape.contains(&format!("# HELP {name} "))
        {
            types.insert(name.to_string(), kind.to_string());
        }
    }
    types
}

/// The metrics of `wanted` missing from a scrape; a histogram's `_bucket` is its own name.
fn missing(wanted: &BTreeSet<String>, scrape: &str) -> Vec<String> {
    let have = described(scrape);
    let connector_metrics = [
        connectors::telemetry::HEALTH,
        connectors::telemetry::REQUESTS,
        connectors::telemetry::ERRORS,
        connectors::telemetry::REQUEST_DURATION,
        connectors::telemetry::READINGS,
        connectors::telemetry::READINGS_DROPPED,
    ];
    wanted
        .iter()
        .filter(|name| {
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|b| have.get(*b).is_some_and(|t| t == "histogram"))
                })
                .unwrap_or(name);
            // No connector is configured here: their names are the connectors crate's.
            !have.contains_key(base) && !connector_metrics.contains(&base)
        })
        .cloned()
        .collect()
}

#[test]
fn the_manifests_run_the_real_server_whose_scrape_has_every_metric_they_read() {
    let objects = built("overlays/production");
    let deployment = find(&objects, "Deployment", "thermaliq");
    let c = container(deployment, "thermaliq");
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("config");
    let secrets_dir = dir.path().join("secrets");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::create_dir_all(&secrets_dir).unwrap();
    let settings = configmap_settings(&objects, &config_dir);
    for (key, value) in SECRET_VALUES {
        // As a Secret created from files usually ends: with a newline, which is dropped.
        std::fs::write(secrets_dir.join(key), format!("{value}\n")).unwrap();
    }
    let db = Database::create();
    let mut redis = Redis::start(SECRET_VALUES[1].1);
    let (mut env, _) = pod_environment(deployment, &config_dir, &secrets_dir);
    env.push(("THERMALIQ_DATABASE_URL".into(), db.url.clone()));
    env.push((
        "THERMALIQ_REDIS_URL".into(),
        format!("redis://127.0.0.1:{}/0", redis.port),
    ));
    // The background integrity check every second, so its gauges are set within the test.
    env.push((
        "THERMALIQ_INTEGRITY_CHECK_INTERVAL_SECONDS".into(),
        "1".into(),
    ));
    let pod = Pod { env };

    // The migration Job's command migrates the empty database.
    let job = find(&objects, "Job", "thermaliq-migrate");
    let job_args = strings(&job["spec"]["template"]["spec"]["containers"][0]["args"]);
    let out = pod.command(&job_args).output().unwrap();
    assert!(
        out.status.success(),
        "{job_args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let current = pod.succeed(&["migrate", "current"]);
    assert!(
        current
            .lines()
            .any(|l| l.starts_with("pending:") && l.trim_end().ends_with(" 0")),
        "{current}"
    );

    // A token made with the Secret's pepper, the demo facility and 10 minutes of readings.
    let token = pod
        .succeed(&["token", "create", "--name", "deploy", "--role", "admin"])
        .trim()
        .to_string();
    let spec = dir.path().join("demo.toml");
    std::fs::write(&spec, server::demo::SPEC_TOML).unwrap();
    pod.succeed(&["facility", "apply", spec.to_str().unwrap()]);
    let mut csv = String::from("time,tag,value,quality\n");
    for r in server::demo::readings(START_US, 600, 1).expect("demo data") {
        csv.push_str(&format!(
            "{},{},{},{}\n",
            server::http::format_us(r.time_us),
            r.tag,
            r.value,
            r.quality
        ));
    }
    let readings = dir.path().join("readings.csv");
    std::fs::write(&readings, csv).unwrap();
    pod.succeed(&[
        "ingest",
        "--facility",
        server::demo::FACILITY_ID,
        readings.to_str().unwrap(),
    ]);

    // The container's own command, on a free loopback port instead of the manifest's.
    let mut args = strings(&c["args"]);
    args.extend(["--bind".to_string(), "127.0.0.1:0".to_string()]);
    let mut served = Served::start(pod.command(&args));
    served.wait_for_log("calculation cache: Redis reachable");
    assert!(
        !served
            .seen
            .iter()
            .any(|v| v["fields"]["message"] == "migration applied"),
        "the Job had already migrated"
    );
    let test_port = served.addr.rsplit_once(':').unwrap().1.to_string();
    let manifest_port = u64::from(settings.bind.port());

    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        let get = &c[probe]["httpGet"];
        assert_eq!(container_port(c, &get["port"]), manifest_port);
        let (status, body) = served.request("GET", get["path"].as_str().unwrap(), "", "");
        assert_eq!(status, 200, "{probe} {}: {body}", get["path"]);
    }
    let (_, health) = served.request("GET", "/v1/thermaliq/health", "", "");
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["version"], VERSION, "{health}");
    assert_eq!(health["backend"], "postgresql", "{health}");

    // The image's HEALTHCHECK, pointed at the test port.
    let healthcheck: Vec<String> = healthcheck_command(&read("Dockerfile"))
        .into_iter()
        .skip(1)
        .map(|a| a.replace(&format!(":{manifest_port}"), &format!(":{test_port}")))
        .collect();
    let out = pod.command(&healthcheck).output().unwrap();
    assert!(
        out.status.success(),
        "HEALTHCHECK {healthcheck:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A calculation, a refused one, a cached read: the calculation series and gauges.
    let (status, body) = served.request(
        "POST",
        "/v1/thermaliq/calculate",
        &token,
        &calculate_body(0, 10),
    );
    assert_eq!(status, 200, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["calculation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = served.request(
        "POST",
        "/v1/thermaliq/calculate",
        &token,
        &calculate_body(10, -5),
    );
    assert_eq!(status, 422);
    let (status, _) = served.request(
        "GET",
        &format!("/v1/thermaliq/calculations/{id}"),
        &token,
        "",
    );
    assert_eq!(status, 200);

    // Redis gone: a lookup fails over to the store and counts a cache error.
    redis.stop();
    let (status, body) = served.request(
        "POST",
        "/v1/thermaliq/calculate",
        &token,
        &calculate_body(0, 5),
    );
    assert_eq!(status, 200, "{body}");

    // The database gone: the HEALTHCHECK fails, the API fails and counts a store error.
    db.reachable(false);
    let out = pod.command(&healthcheck).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "HEALTHCHECK with the database gone"
    );
    let (status, body) = served.request(
        "GET",
        "/v1/thermaliq/calculations/CALC-DOES-NOT-EXIST",
        &token,
        "",
    );
    assert!(status >= 500, "{status} {body}");
    db.reachable(true);

    let wanted = metrics_read_by_the_artefacts();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, scrape) = served.request("GET", "/metrics", "", "");
        assert_eq!(status, 200);
        let absent = missing(&wanted, &scrape);
        if absent.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "read by the rules, the AnalysisTemplate or the dashboard but not in the scrape: \
             {absent:?}\n{scrape}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn metric_names_are_read_from_promql_without_labels_or_strings() {
    let names = metric_names(
        "sum by (namespace) (rate(thermaliq_calculation_errors_total{job=\"thermaliq_x\"}[5m])) \
         / (thermaliq:calculation_requests:rate5m > 0) and on (namespace) up{job=\"thermaliq\"}",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        [
            "thermaliq:calculation_requests:rate5m",
            "thermaliq_calculation_errors_total"
        ]
    );
}
