//! The runbooks (docs/runbooks/*.md) name only what exists: every `thermaliq …` command (in
//! code blocks, and in inline code starting with `thermaliq `) has its verbs and flags in the
//! real binary's `--help`; every API path (`/v1/thermaliq/…` or `$B/…`) answers neither 404 nor
//! 405 nor 5xx on a live server with the method the runbook uses; every `thermaliq_…` metric is
//! in a live `/metrics` scrape after a calculation (as a sample or its HELP line); and every
//! alert of deploy/prometheus/thermaliq-rules.yaml has its section in alerts.md, the anchor its
//! `runbook_url` names.

#[allow(dead_code)]
mod ops_support;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use ops_support::{At, Served};
use regex::Regex;
use store::Role;

/// Each runbook: its file name and text.
fn runbooks() -> Vec<(String, String)> {
    let dir = ops_support::repo_root().join("docs/runbooks");
    let mut pages: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("docs/runbooks")
        .filter_map(|e| {
            let path: PathBuf = e.ok()?.path();
            (path.extension()? == "md").then_some(())?;
            let name = path.file_name()?.to_str()?.to_string();
            Some((name, std::fs::read_to_string(&path).ok()?))
        })
        .collect();
    pages.sort();
    for page in [
        "README.md",
        "deployment-and-rollback.md",
        "incident-response.md",
        "alerts.md",
        "schema-compatibility.md",
    ] {
        assert!(
            pages.iter().any(|(n, _)| n == page),
            "docs/runbooks/{page} is missing"
        );
    }
    pages
}

/// The lines of the fenced code blocks of a page, `\` continuations joined.
fn code_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut inside = false;
    let mut pending = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
            continue;
        }
        if !inside {
            continue;
        }
        match line.trim_end().strip_suffix('\\') {
            Some(head) => {
                pending.push_str(head);
                pending.push(' ');
            }
            None => {
                pending.push_str(line);
                lines.push(std::mem::take(&mut pending));
            }
        }
    }
    lines
}

/// The `thermaliq` command lines of a page: in code blocks, where a command starts (line start,
/// after `-- `, `$(`, `| `, `&& `), and inline code spans starting with `thermaliq `. Each is
/// cut at a shell operator or comment.
fn commands(text: &str) -> Vec<String> {
    let inline = Regex::new(r"`(thermaliq [^`]+)`").unwrap();
    let mut found = Vec::new();
    for line in code_lines(text) {
        for (i, _) in line.match_indices("thermaliq") {
            let before = &line[..i];
            let starts = before.trim().is_empty()
                || ["-- ", "$(", "| ", "&& "]
                    .iter()
                    .any(|s| before.ends_with(s));
            let word_ends = line[i + "thermaliq".len()..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ');
            if starts && word_ends {
                found.push(line[i..].to_string());
            }
        }
    }
    for c in inline.captures_iter(text) {
        found.push(c[1].to_string());
    }
    found
        .into_iter()
        .map(|c| {
            let end = c
                .find(['|', ';', '#', ')', '>', '<', '&'])
                .unwrap_or(c.len());
            c[..end].trim().to_string()
        })
        .collect()
}

/// `thermaliq ARGS --help`, cached; `None` when it fails.
fn help(cache: &mut HashMap<Vec<String>, Option<String>>, path: &[String]) -> Option<String> {
    cache
        .entry(path.to_vec())
        .or_insert_with(|| {
            let out = Command::new(env!("CARGO_BIN_EXE_thermaliq"))
                .args(path)
                .arg("--help")
                .stdin(Stdio::null())
                .output()
                .expect("the binary runs");
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        })
        .clone()
}

/// The subcommand names a help text lists.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Why a command does not exist as written; `None` when its verbs and flags do.
fn check_command(
    cache: &mut HashMap<Vec<String>, Option<String>>,
    command: &str,
) -> Option<String> {
    let words: Vec<String> = command
        .split_whitespace()
        .skip(1)
        .map(|w| w.trim_matches(['"', '\'']).to_string())
        .collect();
    let mut path: Vec<String> = Vec::new();
    for word in &words {
        let Some(text) = help(cache, &path) else {
            return Some(format!("`thermaliq {} --help` fails", path.join(" ")));
        };
        if subcommands(&text).contains(word) {
            path.push(word.clone());
        } else {
            break;
        }
    }
    let top_level_flag = words
        .first()
        .is_some_and(|w| w == "--version" || w == "--help");
    if path.is_empty() && !top_level_flag {
        return Some("no verb of the binary".to_string());
    }
    let Some(text) = help(cache, &path) else {
        return Some(format!("`thermaliq {} --help` fails", path.join(" ")));
    };
    if !subcommands(&text).is_empty() {
        return Some(format!("`thermaliq {}` needs a subcommand", path.join(" ")));
    }
    let flag = Regex::new(r"^(--[a-z][a-z0-9-]*)").unwrap();
    for word in &words {
        if let Some(m) = flag.captures(word) {
            let name = &m[1];
            let listed = text
                .lines()
                .any(|l| l.split([' ', ',', '=', '<', '[']).any(|part| part == name));
            if !listed && name != "--help" && name != "--version" {
                return Some(format!(
                    "{name} is not an option of `thermaliq {}`",
                    path.join(" ")
                ));
            }
        }
    }
    None
}

/// The API paths of a page with the method used (`ANY` for a `route="…"` label): (method,
/// path with placeholders).
fn api_paths(text: &str) -> Vec<(String, String)> {
    let path = Regex::new(r"(?:/v1/thermaliq|\$B)(/[A-Za-z0-9_{}$.\-/…]*)").unwrap();
    let method = Regex::new(r"(GET|POST|PUT|DELETE)\s*`?$").unwrap();
    let route_label = Regex::new(r#"route="$"#).unwrap();
    let mut found = Vec::new();
    let lines: Vec<String> = text
        .lines()
        .map(str::to_string)
        .chain(code_lines(text))
        .collect();
    for line in &lines {
        for m in path.captures_iter(line) {
            let whole = m.get(0).unwrap();
            let rest = m[1].trim_end_matches(['.', ',']);
            // `/v1/thermaliq/…` in prose names the API as a whole.
            if rest.is_empty() || rest == "/" || rest.starts_with("/…") {
                continue;
            }
            let before = &line[..whole.start()];
            if route_label.is_match(before) {
                found.push(("ANY".to_string(), format!("/v1/thermaliq{rest}")));
                continue;
            }
            let verb = method
                .captures(before)
                .map(|c| c[1].to_string())
                .unwrap_or_else(|| {
                    if line.contains("-X POST") {
                        "POST".to_string()
                    } else {
                        "GET".to_string()
                    }
                });
            found.push((verb, format!("/v1/thermaliq{rest}")));
        }
    }
    found
}

/// A path with its placeholders (`{id}`, `$X`, `CALC-…`, `…`) replaced by real ids.
fn concrete(path: &str, calculation: &str) -> String {
    let mut out = Vec::new();
    let mut previous = "";
    for segment in path.split('/') {
        let placeholder = segment.contains(['{', '$', '…']) || segment.contains("...");
        let real = if !placeholder {
            segment
        } else {
            match previous {
                "calculations" => calculation,
                "facilities" => server::demo::FACILITY_ID,
                "equipment" => "BLR-001",
                other => panic!("no id known for a placeholder after {other}: {path}"),
            }
        };
        out.push(real.to_string());
        previous = segment;
    }
    out.join("/")
}

/// Whether the service describes metric `name`: a `pub const X: &str = "name"` in
/// crates/server/src/metrics.rs or crates/connectors/src/telemetry.rs passed to
/// `describe_counter!`, `describe_gauge!` or `describe_histogram!`.
fn described(name: &str) -> bool {
    [
        "crates/server/src/metrics.rs",
        "crates/connectors/src/telemetry.rs",
    ]
    .iter()
    .any(|file| {
        let source = std::fs::read_to_string(ops_support::repo_root().join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let constant = Regex::new(&format!(
            r#"pub const (\w+): &str = "{}";"#,
            regex::escape(name)
        ))
        .unwrap();
        constant.captures(&source).is_some_and(|c| {
            Regex::new(&format!(
                r"describe_(counter|gauge|histogram)!\(\s*{}\b",
                &c[1]
            ))
            .unwrap()
            .is_match(&source)
        })
    })
}

#[test]
fn runbooks_name_only_commands_paths_metrics_and_alerts_that_exist() {
    let pages = runbooks();
    let dir = tempfile::tempdir().expect("tempdir");
    let at = At::Dir(dir.path().join("data"));
    let token = ops_support::runtime().block_on(async {
        let store = at.open().await;
        store.migrate_up(None).await.expect("migrated");
        let token = ops_support::load_demo(&store, Role::Admin).await;
        store.close().await;
        token
    });
    let served = Served::start(&at, &[]);
    let calc = served.json(
        "POST",
        "/v1/thermaliq/calculate",
        &token,
        &ops_support::test_calculation(),
    );
    let id = calc["calculation_id"].as_str().expect("id").to_string();

    let mut problems = Vec::new();
    let (mut n_commands, mut n_paths) = (0, 0);
    let mut metrics = BTreeSet::new();
    let mut cache = HashMap::new();
    let metric = Regex::new(r"\bthermaliq_[a-z0-9_]*[a-z0-9]").unwrap();
    for (page, text) in &pages {
        for command in commands(text) {
            n_commands += 1;
            if let Some(why) = check_command(&mut cache, &command) {
                problems.push(format!("{page}: `{command}`: {why}"));
            }
        }
        for (method, path) in api_paths(text) {
            n_paths += 1;
            let real = concrete(&path, &id);
            // A `route` label names a route, whatever its method: any answer but 404 proves it.
            let any = method == "ANY";
            let (sent, body) = match method.as_str() {
                "GET" | "ANY" => ("GET", ""),
                other => (other, "{}"),
            };
            let (status, answer) = served.request(sent, &real, Some(&token), body);
            if status == 404 || (status == 405 && !any) || status >= 500 {
                problems.push(format!("{page}: {method} {path}: {status} {answer}"));
            }
        }
        metrics.extend(
            metric
                .find_iter(text)
                .map(|m| (page.clone(), m.as_str().to_string())),
        );
    }

    // After the calculation the gauges it sets are in the scrape. Counters of failures and the
    // connector families have no series until they first count, and the exporter prints HELP
    // only with a series: those must be described (HELP text) by the service's source.
    let (status, scrape) = served.request("GET", "/metrics", None, "");
    assert_eq!(status, 200);
    for (page, name) in &metrics {
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .filter(|b| scrape.contains(&format!("# TYPE {b} histogram")))
            .unwrap_or(name);
        let present = scrape.contains(&format!("# HELP {base} "))
            || scrape
                .lines()
                .any(|l| l.starts_with(&format!("{base}{{")) || l.starts_with(&format!("{base} ")));
        if !present && !described(base) {
            problems.push(format!(
                "{page}: metric {name} is neither in the /metrics scrape nor described by the \
                 service"
            ));
        }
    }

    // Every alert has its section; every section is an alert; each runbook_url's anchor exists.
    let rules = std::fs::read_to_string(
        ops_support::repo_root().join("deploy/prometheus/thermaliq-rules.yaml"),
    )
    .expect("deploy/prometheus/thermaliq-rules.yaml");
    let alerts: BTreeSet<String> = Regex::new(r"(?m)^\s*- alert:\s*(\w+)")
        .unwrap()
        .captures_iter(&rules)
        .map(|c| c[1].to_string())
        .collect();
    let alerts_md = &pages
        .iter()
        .find(|(n, _)| n == "alerts.md")
        .expect("alerts.md")
        .1;
    let sections: BTreeSet<String> = Regex::new(r"(?m)^## (Thermaliq\w+)\s*$")
        .unwrap()
        .captures_iter(alerts_md)
        .map(|c| c[1].to_string())
        .collect();
    for alert in alerts.difference(&sections) {
        problems.push(format!("alerts.md has no section for the alert {alert}"));
    }
    for section in sections.difference(&alerts) {
        problems.push(format!(
            "alerts.md has a section for {section}, not an alert of the rules"
        ));
    }
    let anchors: BTreeSet<String> = sections.iter().map(|s| s.to_lowercase()).collect();
    for c in Regex::new(r"runbook_url:\s*\S*alerts\.md#([\w-]+)")
        .unwrap()
        .captures_iter(&rules)
    {
        if !anchors.contains(&c[1]) {
            problems.push(format!(
                "runbook_url anchor #{} has no section in alerts.md",
                &c[1]
            ));
        }
    }

    assert!(
        problems.is_empty(),
        "runbooks out of step with the product:\n{}",
        problems.join("\n")
    );
    // Enough was found that the extraction itself works.
    assert!(n_commands >= 20, "only {n_commands} commands found");
    assert!(n_paths >= 15, "only {n_paths} API paths found");
    assert!(
        metrics.len() >= 20,
        "only {} metric mentions found",
        metrics.len()
    );
    assert!(
        alerts.len() >= 11,
        "only {} alerts in the rules",
        alerts.len()
    );
}

#[test]
fn the_checks_reject_what_does_not_exist() {
    let mut cache = HashMap::new();
    assert_eq!(check_command(&mut cache, "thermaliq migrate current"), None);
    assert_eq!(
        check_command(&mut cache, "thermaliq check integrity --since 1h"),
        None
    );
    assert!(check_command(&mut cache, "thermaliq migrate downgrade -1").is_some());
    assert!(check_command(&mut cache, "thermaliq db backup --compress x").is_some());
    assert!(check_command(&mut cache, "thermaliq warm_cache.py").is_some());
    assert!(check_command(&mut cache, "thermaliq migrate").is_some());
    let text = "```sh\nkubectl exec deploy/thermaliq -- thermaliq token list | wc -l\n\
                kubectl get deployment thermaliq -n ns\n```\nrun `thermaliq migrate up --to 1`.";
    assert_eq!(
        commands(text),
        ["thermaliq token list", "thermaliq migrate up --to 1"]
    );
    let text = "`POST /v1/thermaliq/calculate`\n```sh\ncurl -s -X POST $B/admin/cache/invalidate\n\
                curl -s $B/calculations/$calc_id/sankey\n```";
    let paths = api_paths(text);
    assert!(paths.contains(&("POST".into(), "/v1/thermaliq/calculate".into())));
    assert!(paths.contains(&("POST".into(), "/v1/thermaliq/admin/cache/invalidate".into())));
    assert!(paths.contains(&(
        "GET".into(),
        "/v1/thermaliq/calculations/$calc_id/sankey".into()
    )));
    assert_eq!(
        concrete("/v1/thermaliq/calculations/{id}/sankey", "CALC-1"),
        "/v1/thermaliq/calculations/CALC-1/sankey"
    );
}
