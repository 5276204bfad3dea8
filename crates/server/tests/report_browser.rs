//! The Sankey SVG and the calculation report rendered in a real browser: headless Chromium
//! (Debian package `chromium`, with `fonts-dejavu-core` so text renders the same everywhere)
//! takes screenshots, which must not be blank, and runs a check page that measures every
//! label's box with `getBBox()` against the diagram's viewBox. Screenshots, the rendered
//! documents and the report as PDF are kept under `target/screenshots/`.

mod api_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use api_support::{HOUR_US, START_US, TestApp, calc_body, spawn};
use reqwest::{Method, StatusCode};

/// Share of a screenshot that must differ from white for it to count as drawn.
const MIN_INK_SHARE: f64 = 0.02;

/// Tolerance of a label's box against the canvas, px (anti-aliasing of glyph edges).
const BOX_TOLERANCE_PX: f64 = 0.5;

/// Measures every `<text>` of the first SVG on the page against its viewBox and writes the
/// findings into `#result`, which `--dump-dom` prints.
const CHECK_SCRIPT: &str = r#"<script>
(function () {
  const svg = document.querySelector('svg');
  const vb = svg.viewBox.baseVal;
  const tol = TOLERANCE;
  const texts = svg.querySelectorAll('text');
  const outside = [];
  for (const t of texts) {
    const b = t.getBBox();
    if (b.width <= 0 || b.height <= 0 || b.x < vb.x - tol || b.y < vb.y - tol ||
        b.x + b.width > vb.x + vb.width + tol || b.y + b.height > vb.y + vb.height + tol) {
      outside.push(t.textContent + ' @ ' + [b.x, b.y, b.width, b.height].map(v => v.toFixed(1)).join(','));
    }
  }
  const page = document.documentElement;
  const result = document.createElement('pre');
  result.id = 'result';
  result.textContent = 'texts=' + texts.length + ';outside=' + outside.length +
    ';overflow=' + (page.scrollWidth > window.innerWidth ? 1 : 0) + ';' + outside.join(' | ');
  document.body.appendChild(result);
})();
</script>"#;

/// `target/screenshots/`.
fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("target/screenshots is writable");
    dir
}

/// Runs headless Chromium with `args` on `file`; its standard output.
fn chromium(args: &[String], file: &Path) -> String {
    let profile = tempfile::tempdir().expect("a profile directory");
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", file.display()))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run chromium ({e}): install the Debian packages `chromium` and \
                 `fonts-dejavu-core` (apt-get install chromium fonts-dejavu-core)"
            )
        });
    assert!(
        output.status.success(),
        "chromium failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A screenshot of `file` at `width` × `height` into `png`.
fn screenshot(file: &Path, png: &Path, width: u32, height: u32) {
    chromium(
        &[
            format!("--screenshot={}", png.display()),
            format!("--window-size={width},{height}"),
        ],
        file,
    );
}

/// Share of the pixels of a PNG that are not white, and its size.
fn ink(png: &Path) -> (f64, u32, u32) {
    let file = std::fs::File::open(png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("a bounded image")];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    let channels = info.color_type.samples();
    assert!(
        channels >= 3,
        "a colour screenshot, got {:?}",
        info.color_type
    );
    let pixels = buf[..info.buffer_size()].chunks(channels);
    let total = (info.width * info.height) as f64;
    let inked = pixels.filter(|p| p[..3].iter().any(|&c| c < 245)).count() as f64;
    (inked / total, info.width, info.height)
}

/// The `#result` line the check script wrote, from a dumped DOM.
fn check_result(dom: &str) -> &str {
    let start = dom
        .find("<pre id=\"result\">")
        .unwrap_or_else(|| panic!("the check script wrote no result: {dom:.400}"))
        + "<pre id=\"result\">".len();
    let end = dom[start..].find("</pre>").expect("the result ends") + start;
    &dom[start..end]
}

/// A field `name=<number>` of a check result.
fn field(result: &str, name: &str) -> u64 {
    result
        .split(';')
        .find_map(|f| f.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {result}"))
}

/// A completed calculation over one hour of demo readings.
async fn completed(app: &TestApp) -> String {
    app.put_demo_facility().await;
    app.store_demo_readings(START_US, 3_600, 4).await;
    let (status, v) = app
        .post(
            "/calculate",
            &app.operator,
            &calc_body(START_US, START_US + HOUR_US),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "completed", "{v}");
    v["calculation_id"].as_str().unwrap().to_string()
}

async fn text(app: &TestApp, path: &str) -> String {
    let r = app.call(Method::GET, path, Some(&app.viewer), None).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.expect("a text body")
}

/// The height of an SVG document from its root's `height` attribute, px.
fn svg_height(svg: &str) -> u32 {
    let doc = roxmltree::Document::parse(svg).expect("the SVG is well-formed");
    let h: f64 = doc
        .root_element()
        .attribute("height")
        .and_then(|h| h.parse().ok())
        .expect("the SVG states its height");
    h.ceil() as u32
}

#[tokio::test]
async fn the_sankey_and_the_report_render_in_chromium() {
    let app = spawn().await;
    let id = completed(&app).await;
    let dir = screenshots();

    for basis in ["HHV", "exergy"] {
        let svg = text(&app, &format!("/calculations/{id}/sankey?basis={basis}")).await;
        let file = dir.join(format!("sankey-{basis}.svg"));
        std::fs::write(&file, &svg).unwrap();
        let png = dir.join(format!("sankey-{basis}.png"));
        let height = svg_height(&svg);
        screenshot(&file, &png, 800, height);
        let (share, w, h) = ink(&png);
        assert_eq!((w, h), (800, height), "{}", png.display());
        assert!(
            share > MIN_INK_SHARE,
            "{basis}: the Sankey screenshot is blank ({:.3} % drawn)",
            100.0 * share
        );

        // Every label inside the canvas, as the browser measures it, at 800 px.
        let page = format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head>\
             <body style=\"margin:0\">{svg}{}</body></html>",
            CHECK_SCRIPT.replace("TOLERANCE", &BOX_TOLERANCE_PX.to_string())
        );
        let check = dir.join(format!("sankey-{basis}-check.html"));
        std::fs::write(&check, page).unwrap();
        let dom = chromium(
            &[
                "--dump-dom".to_string(),
                "--window-size=800,600".to_string(),
            ],
            &check,
        );
        let result = check_result(&dom);
        assert!(field(result, "texts") >= 10, "{basis}: {result}");
        assert_eq!(
            field(result, "outside"),
            0,
            "{basis}: labels outside: {result}"
        );
    }

    let html = text(&app, &format!("/calculations/{id}/report")).await;
    let file = dir.join("report.html");
    std::fs::write(&file, &html).unwrap();
    let png = dir.join("report.png");
    screenshot(&file, &png, 800, 1200);
    let (share, _, _) = ink(&png);
    assert!(
        share > MIN_INK_SHARE,
        "the report screenshot is blank ({:.3} % drawn)",
        100.0 * share
    );
    // The report's own Sankey: labels inside, and no page wider than the 800 px window.
    let check = dir.join("report-check.html");
    let checked = html.replacen(
        "</body>",
        &format!(
            "{}</body>",
            CHECK_SCRIPT.replace("TOLERANCE", &BOX_TOLERANCE_PX.to_string())
        ),
        1,
    );
    std::fs::write(&check, checked).unwrap();
    let dom = chromium(
        &[
            "--dump-dom".to_string(),
            "--window-size=800,1200".to_string(),
        ],
        &check,
    );
    let result = check_result(&dom);
    assert!(field(result, "texts") >= 10, "{result}");
    assert_eq!(
        field(result, "outside"),
        0,
        "report Sankey labels outside: {result}"
    );
    assert_eq!(
        field(result, "overflow"),
        0,
        "the report is wider than 800 px: {result}"
    );

    // Print-ready: the browser's print path turns it into a multi-page A4 PDF.
    let pdf = dir.join("report.pdf");
    chromium(
        &[
            format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer".to_string(),
        ],
        &file,
    );
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let pages = bytes.windows(11).filter(|w| w == b"/Type /Page").count()
        - bytes.windows(12).filter(|w| w == b"/Type /Pages").count();
    assert!(
        pages >= 3,
        "{pages} page(s): the print CSS breaks sections onto pages"
    );
}
