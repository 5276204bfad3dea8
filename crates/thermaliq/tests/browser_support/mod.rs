//! What the browser tests share: a real `thermaliq serve --demo` on a free loopback port with
//! its own data directory, tokens made with `thermaliq token create`, and Debian's headless
//! Chromium driven through Debian's chromedriver (WebDriver over plain HTTP on loopback).
//! Every process started here is killed when its guard drops, also when a test panics.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long a process may take to start, a page to load or an element to appear.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Debian's chromedriver (package `chromium-driver`).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Debian's Chromium (package `chromium`).
const CHROMIUM: &str = "/usr/bin/chromium";

/// The demo facility.
pub const FACILITY: &str = "FAC-DEMO-001";

/// The cargo target directory: CARGO_TARGET_DIR, else two levels above the test binary's
/// `thermaliq` (`target/debug/thermaliq`).
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = Path::new(env!("CARGO_BIN_EXE_thermaliq"));
    exe.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .or_else(|| exe.parent().and_then(Path::parent))
        .expect("the target directory")
        .to_path_buf()
}

/// `target/browser-screenshots/`, created: where every test saves its PNG screenshots.
pub fn screenshot_dir() -> PathBuf {
    let dir = target_dir().join("browser-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

/// A free TCP port on 127.0.0.1 (free when this returns).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A child process in its own process group, killed with its whole group on drop.
struct Guard(Child);

impl Guard {
    fn spawn(command: &mut Command, what: &str) -> Self {
        command.process_group(0);
        Self(
            command
                .spawn()
                .unwrap_or_else(|e| panic!("{what} does not start: {e}")),
        )
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // The group: chromedriver's Chromium processes go with it.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A command of the real binary without configuration from the environment.
fn thermaliq() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_thermaliq"));
    for var in [
        "THERMALIQ_CONFIG",
        "THERMALIQ_DATABASE_URL",
        "THERMALIQ_DATA_DIR",
        "THERMALIQ_REDIS_URL",
        "THERMALIQ_BIND",
        "THERMALIQ_TOKEN_PEPPER",
    ] {
        command.env_remove(var);
    }
    command.stdin(Stdio::null());
    command
}

/// A real `thermaliq serve --demo` on a free loopback port and a temporary data directory.
pub struct Demo {
    _serve: Guard,
    dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The admin token the demo printed.
    pub admin_token: String,
    /// The first demo day's midnight as `YYYY-MM-DD` (UTC).
    pub day: String,
}

impl Demo {
    /// Starts the demo and waits until it listens and has printed its token.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("data dir");
        let mut command = thermaliq();
        command
            .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("THERMALIQ_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut serve = Guard::spawn(&mut command, "thermaliq serve --demo");
        let lines = lines_of(serve.0.stdout.take().expect("stdout"));
        let (mut addr, mut token, mut day) = (None, None, None);
        let deadline = Instant::now() + PATIENCE;
        while addr.is_none() || token.is_none() || day.is_none() {
            let line = match lines.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("thermaliq serve --demo did not print its address and token in time")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("thermaliq serve --demo ended: {:?}", serve.0.wait())
                }
            };
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if v["fields"]["message"] == "listening" {
                    addr = v["fields"]["address"].as_str().map(str::to_string);
                }
            } else if let Some(t) = line.trim().strip_prefix("export TOKEN=") {
                token = Some(t.to_string());
            } else if let Some((_, rest)) = line.split_once("meter data from ") {
                day = rest.get(..10).map(str::to_string);
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || while lines.recv().is_ok() {});
        Self {
            _serve: serve,
            dir,
            base: format!("http://{}", addr.expect("address")),
            admin_token: token.expect("token"),
            day: day.expect("demo day"),
        }
    }

    /// A new token `name` of `role` made by `thermaliq token create` on the demo's store.
    pub fn token(&self, name: &str, role: &str) -> String {
        let out = thermaliq()
            .args([
                "token",
                "create",
                "--name",
                name,
                "--role",
                role,
                "--data-dir",
            ])
            .arg(self.dir.path())
            .output()
            .expect("thermaliq token create runs");
        assert!(
            out.status.success(),
            "thermaliq token create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let secret = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(secret.starts_with("tq_"), "not a token: {secret:?}");
        secret
    }

    /// The URL of `path` on the demo server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The day before the demo day, `YYYY-MM-DD`: no readings.
    pub fn day_before(&self) -> String {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let day = time::Date::parse(&self.day, format).expect("demo day");
        day.previous_day()
            .expect("a day before")
            .format(format)
            .expect("formatted")
    }

    /// Applies a copy of the demo facility, `FAC-DEMO-002` ("Second plant", no readings),
    /// with `thermaliq facility apply` on the demo's store.
    pub fn apply_second_facility(&self) {
        let spec = self.dir.path().join("second.toml");
        std::fs::write(
            &spec,
            server::demo::SPEC_TOML
                .replace("FAC-DEMO-001", "FAC-DEMO-002")
                .replace("THERMALIQ demo plant", "Second plant")
                .replace("\"BLR-001\"", "\"BLR-002\"")
                .replace("\"FUR-001\"", "\"FUR-002\""),
        )
        .expect("spec written");
        let out = thermaliq()
            .args(["facility", "apply"])
            .arg(&spec)
            .arg("--data-dir")
            .arg(self.dir.path())
            .output()
            .expect("thermaliq facility apply runs");
        assert!(
            out.status.success(),
            "thermaliq facility apply: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A calculation of the demo facility from `{day}{start}` to `{day}{end}` (`THH:MM`)
    /// through the API with the admin token; the answer.
    pub fn api_calculate(&self, start: &str, end: &str) -> Value {
        let day = &self.day;
        let body = json!({
            "facility_id": FACILITY,
            "time_period": { "start": format!("{day}{start}:00Z"), "end": format!("{day}{end}:00Z") },
        });
        let (status, answer) = self.api(
            "POST",
            "/v1/thermaliq/calculate",
            "application/json",
            &body.to_string(),
        );
        assert!(
            status == 200 || status == 201,
            "POST /calculate: {status} {answer}"
        );
        serde_json::from_str(&answer).expect("a JSON answer")
    }

    /// One API request with the admin token on its own connection; status and body.
    pub fn api(&self, method: &str, path: &str, content_type: &str, body: &str) -> (u16, String) {
        let addr = self.base.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).expect("connects");
        s.set_read_timeout(Some(PATIENCE)).expect("timeout");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
             Authorization: Bearer {}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.admin_token,
            body.len()
        )
        .expect("request sent");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("an answer");
        let answer = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .expect("a status");
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        };
        (status, body)
    }
}

/// The payload of a chunked body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

/// The lines of `out`, read on a thread.
fn lines_of(out: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Headless Debian Chromium behind its own chromedriver, with a fresh profile.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    /// What this test's screenshots are named after.
    test: String,
    _profile: tempfile::TempDir,
    _driver: Guard,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium `width` px wide;
    /// screenshots are named `<test>-<step>.png`.
    pub async fn start(test: &str, width: u32) -> Self {
        for (program, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
            assert!(
                Path::new(program).exists(),
                "{program} is missing: the browser tests need Debian's `{package}` package \
                 (apt-get install chromium chromium-driver fonts-dejavu-core; .ci/run installs them)"
            );
        }
        let port = free_port();
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let driver = Guard::spawn(&mut command, "chromedriver");
        let deadline = Instant::now() + PATIENCE;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver does not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-quic".to_string(),
            "--no-first-run".to_string(),
            "--disable-background-networking".to_string(),
            "--disable-component-update".to_string(),
            "--disable-sync".to_string(),
            "--disable-dev-shm-usage".to_string(),
            format!("--user-data-dir={}", profile.path().display()),
            format!("--window-size={width},900"),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("no WebDriver session with headless Chromium: {e}"));
        Self {
            client,
            test: test.to_string(),
            _profile: profile,
            _driver: driver,
        }
    }

    /// Loads `url` and waits for the document.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    }

    /// The path (and query) of the current page.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The element matching `css`, waiting for it up to [`PATIENCE`].
    pub async fn wait(&self, css: &str) -> Element {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                return e;
            }
            if Instant::now() > deadline {
                let path = self.path().await;
                self.shot(&format!("missing-{}", sanitize(css))).await;
                panic!("no element {css:?} on {path}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every element matching `css` now.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    /// Whether an element matches `css` now.
    pub async fn has(&self, css: &str) -> bool {
        !self.all(css).await.is_empty()
    }

    /// The text of the element matching `css` (waiting for it).
    pub async fn text(&self, css: &str) -> String {
        self.wait(css).await.text().await.expect("text")
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page; its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Runs asynchronous `script`, which calls `done(value)`, in the page; the value.
    pub async fn js_async(&self, script: &str, args: Vec<Value>) -> Value {
        let body = format!("const done = arguments[arguments.length - 1];\n{script}");
        self.client
            .execute_async(&body, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// `fetch(url, init)` from the page with same-origin credentials: `{status, type, body}`.
    pub async fn fetch(&self, url: &str, init: Value) -> Value {
        self.js_async(
            "const init = Object.assign({ credentials: 'same-origin', redirect: 'manual' }, \
             arguments[1]);\n\
             fetch(arguments[0], init)\n\
               .then(async r => done({ status: r.status, type: r.headers.get('content-type'), \
                 disposition: r.headers.get('content-disposition'), body: await r.text() }))\n\
               .catch(e => done({ status: -1, body: String(e) }));",
            vec![json!(url), init],
        )
        .await
    }

    /// Saves a PNG screenshot of the viewport as `<test>-<step>.png`; its path.
    pub async fn shot(&self, step: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let file = screenshot_dir().join(format!("{}-{step}.png", self.test));
        std::fs::write(&file, png).expect("screenshot written");
        file
    }

    /// Saves a screenshot under exactly `name` (e.g. `facility-page.png`).
    pub async fn shot_as(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let file = screenshot_dir().join(name);
        std::fs::write(&file, png).expect("screenshot written");
        file
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.wait(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Waits until `cond` (a JS expression) is true in the page; panics naming `what`.
    pub async fn wait_until(&self, cond: &str, what: &str) {
        let script = format!("try {{ return !!({cond}); }} catch (e) {{ return false; }}");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if self.js(&script, vec![]).await == json!(true) {
                return;
            }
            if Instant::now() > deadline {
                let path = self.path().await;
                self.shot(&format!("timeout-{}", sanitize(what))).await;
                panic!("{what}: not true on {path} in time ({cond})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Signs in through `form#sign-in` with `token`; lands on whatever the server answers.
    pub async fn submit_sign_in(&self, demo: &Demo, token: &str) {
        self.goto(&demo.url("/login")).await;
        let field = self.wait("form#sign-in input#token").await;
        field.send_keys(token).await.expect("token typed");
        self.click("form#sign-in button#sign-in-submit").await;
        self.wait_until("document.readyState === 'complete'", "page after sign-in")
            .await;
    }

    /// Signs in with `token` and waits for the facilities overview.
    pub async fn sign_in(&self, demo: &Demo, token: &str) {
        self.submit_sign_in(demo, token).await;
        self.wait_until(
            "location.pathname === '/facilities' && document.readyState === 'complete'",
            "the facilities overview after sign-in",
        )
        .await;
    }

    /// Ends the WebDriver session (Chromium quits); the guards kill what is left.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// `css` as a file-name part.
fn sanitize(css: &str) -> String {
    css.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
