//! End-to-end tests of the web application in a real browser: Debian's headless Chromium,
//! driven over WebDriver (chromedriver), against a real `thermaliq serve --demo` on loopback.
//! Each test has its own server, data directory and browser, so they run in parallel.
//! Screenshots of every step go to `target/browser-screenshots/` (CI keeps them as artefacts).
//! Needs Debian's `chromium` and `chromium-driver` packages (.ci/run installs them).

#[allow(dead_code)]
mod browser_support;

use browser_support::{Browser, Demo, FACILITY};
use serde_json::{Value, json};

/// The cookie of a web session.
const SESSION_COOKIE: &str = "thermaliq_session";

/// Sets the run form's fields (`start`, `end` as `YYYY-MM-DDTHH:MM`, `split`) in the page.
async fn fill_run_form(b: &Browser, start: &str, end: &str, split: &str) {
    b.wait("form#run-calculation").await;
    let set = b
        .js(
            "const f = document.querySelector('form#run-calculation');\n\
             const [start, end, split] = arguments;\n\
             for (const [name, value] of [['start', start], ['end', end]]) {\n\
               const e = f.elements[name];\n\
               e.value = value;\n\
               e.dispatchEvent(new Event('input', { bubbles: true }));\n\
               e.dispatchEvent(new Event('change', { bubbles: true }));\n\
             }\n\
             f.elements['split'].value = split;\n\
             return [f.elements['start'].value, f.elements['end'].value, f.elements['split'].value];",
            vec![json!(start), json!(end), json!(split)],
        )
        .await;
    assert_eq!(
        set,
        json!([start, end, split]),
        "the run form does not take start/end/split"
    );
}

/// The calculation id of a `/calculations/{id}` path.
fn calculation_id(path: &str) -> String {
    path.strip_prefix("/calculations/")
        .unwrap_or_else(|| panic!("not a calculation page: {path}"))
        .split(['?', '#', '/'])
        .next()
        .expect("id")
        .to_string()
}

/// The value of the first hidden `csrf` field of the page.
async fn page_csrf(b: &Browser) -> String {
    let v = b
        .js(
            "const e = document.querySelector('input[name=csrf]'); return e ? e.value : null;",
            vec![],
        )
        .await;
    let csrf = v.as_str().expect("a csrf field on the page").to_string();
    assert!(csrf.len() >= 32, "a short csrf value: {csrf:?}");
    csrf
}

/// A form-encoded POST from the page: `fetch(path, {method: POST, body})`.
async fn post_form(b: &Browser, path: &str, fields: &[(&str, &str)]) -> Value {
    let body: Vec<Value> = fields.iter().map(|(k, v)| json!([k, v])).collect();
    b.js_async(
        "const [path, fields] = arguments;\n\
         fetch(path, { method: 'POST', credentials: 'same-origin', \
           body: new URLSearchParams(fields) })\n\
           .then(async r => done({ status: r.status, url: r.url, body: await r.text() }))\n\
           .catch(e => done({ status: -1, body: String(e) }));",
        vec![json!(path), json!(body)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sets_a_strict_session_cookie_and_lists_facilities() {
    let demo = Demo::start();
    let operator = demo.token("olivia", "operator");
    // A second facility for the filter and the sort; the demo facility gets a calculation.
    demo.apply_second_facility();
    let calc = demo.api_calculate("T00:00", "T01:00");
    assert!(calc["calculation_id"].is_string(), "{calc}");
    let b = Browser::start("sign-in", 1280).await;

    // Not signed in: the root sends to the sign-in form.
    b.goto(&demo.url("/")).await;
    b.wait("form#sign-in").await;
    assert!(b.path().await.starts_with("/login"), "{}", b.path().await);
    let label = b
        .js(
            "const i = document.getElementById('token');\n\
             return [i.type, i.getAttribute('autocomplete'), i.labels.length];",
            vec![],
        )
        .await;
    assert_eq!(label, json!(["password", "off", 1]), "input#token");
    b.shot("login").await;

    // A wrong token: the error, no session.
    b.submit_sign_in(
        &demo,
        "tq_0000000000000000000000000000000000000000000000000000000000000000",
    )
    .await;
    let error = b.wait("#sign-in-error").await;
    assert_eq!(
        error.attr("role").await.expect("role").as_deref(),
        Some("alert")
    );
    assert!(
        !error.text().await.expect("text").trim().is_empty(),
        "an empty #sign-in-error"
    );
    assert!(b.path().await.starts_with("/login"), "{}", b.path().await);
    let cookies = b.client.get_all_cookies().await.expect("cookies");
    assert!(
        cookies.iter().all(|c| c.name() != SESSION_COOKIE),
        "a session after a wrong token: {cookies:?}"
    );
    b.shot("login-error").await;

    // The operator's token: a session cookie that page scripts cannot read.
    b.sign_in(&demo, &operator).await;
    let cookies = b.client.get_all_cookies().await.expect("cookies");
    let session = cookies
        .iter()
        .find(|c| c.name() == SESSION_COOKIE)
        .unwrap_or_else(|| panic!("no {SESSION_COOKIE} cookie: {cookies:?}"));
    assert_eq!(session.http_only(), Some(true), "HttpOnly: {session:?}");
    assert_eq!(session.secure(), Some(true), "Secure: {session:?}");
    assert_eq!(
        format!("{:?}", session.same_site()),
        "Some(Strict)",
        "SameSite: {session:?}"
    );
    assert_eq!(session.path(), Some("/"), "Path: {session:?}");
    assert!(session.value().len() >= 32, "a short session secret");
    let visible = b.js("return document.cookie;", vec![]).await;
    let visible = visible.as_str().expect("document.cookie");
    assert!(
        !visible.contains(SESSION_COOKIE) && !visible.contains(session.value()),
        "page scripts see the session: {visible:?}"
    );
    let whoami = b.text("#whoami").await;
    assert!(
        whoami.contains("olivia") && whoami.contains("operator"),
        "#whoami: {whoami:?}"
    );

    // The overview: both facilities, with links to their pages.
    let rows = facility_rows(&b).await;
    assert_eq!(rows.len(), 2, "rows: {rows:?}");
    assert!(rows.contains(&FACILITY.to_string()), "rows: {rows:?}");
    let link = b
        .wait(&format!(
            "table#facilities tr[data-facility-id='{FACILITY}'] a[href='/facilities/{FACILITY}']"
        ))
        .await;
    assert!(link.is_displayed().await.expect("displayed"));
    let caption = b.text("table#facilities caption").await;
    assert!(!caption.trim().is_empty(), "no caption");
    let row = b
        .text(&format!(
            "table#facilities tr[data-facility-id='{FACILITY}']"
        ))
        .await;
    assert!(row.contains('%'), "no efficiency in the row: {row:?}");
    let other = b
        .text("table#facilities tr[data-facility-id='FAC-DEMO-002']")
        .await;
    assert!(other.contains("No calculation"), "status: {other:?}");
    b.shot("facilities").await;

    // Sort by the facility column: one direction, then the other.
    let sort_link = "table#facilities thead th:first-child a";
    b.click(sort_link).await;
    b.wait("table#facilities thead th[aria-sort]").await;
    let first = facility_cells(&b).await;
    let first_dir = sort_state(&b).await;
    b.click(sort_link).await;
    b.wait_until(
        &format!(
            "document.querySelector('table#facilities thead th[aria-sort]') && \
             document.querySelector('table#facilities thead th[aria-sort]')\
             .getAttribute('aria-sort') !== '{first_dir}'"
        ),
        "the other sort direction",
    )
    .await;
    let second = facility_cells(&b).await;
    let second_dir = sort_state(&b).await;
    let mut asc = first.clone();
    asc.sort();
    let mut desc = asc.clone();
    desc.reverse();
    for (rows, dir) in [(&first, &first_dir), (&second, &second_dir)] {
        match dir.as_str() {
            "ascending" => assert_eq!(rows, &asc, "ascending"),
            "descending" => assert_eq!(rows, &desc, "descending"),
            other => panic!("aria-sort {other:?}"),
        }
    }
    assert_ne!(first_dir, second_dir);
    let path = b.path().await;
    assert!(
        path.contains("sort=") && path.contains("dir="),
        "sort URL: {path}"
    );
    b.shot("facilities-sorted").await;

    // Filter by text, then by status (server-side: the form submits).
    b.goto(&demo.url("/facilities")).await;
    let q = b.wait("form#facility-filter input#filter-q").await;
    q.send_keys("002").await.expect("typed");
    submit_form(&b, "form#facility-filter").await;
    b.wait_until("location.search.includes('q=002')", "the filtered overview")
        .await;
    assert_eq!(facility_rows(&b).await, vec!["FAC-DEMO-002".to_string()]);
    b.shot("facilities-filtered").await;
    b.goto(&demo.url("/facilities")).await;
    let chosen = b
        .js(
            "const s = document.querySelector('form#facility-filter select[name=status]');\n\
             const o = [...s.options].find(o => /no calculation/i.test(o.textContent));\n\
             if (!o) return null;\n\
             s.value = o.value; return o.value;",
            vec![],
        )
        .await;
    assert!(
        chosen.is_string(),
        "no 'No calculation' status in the filter"
    );
    submit_form(&b, "form#facility-filter").await;
    b.wait_until("location.search.includes('status=')", "the status filter")
        .await;
    assert_eq!(facility_rows(&b).await, vec!["FAC-DEMO-002".to_string()]);
    b.close().await;
}

/// The facility ids of the overview's rows, in order.
async fn facility_rows(b: &Browser) -> Vec<String> {
    b.wait("table#facilities").await;
    let ids = b
        .js(
            "return [...document.querySelectorAll('table#facilities tbody tr[data-facility-id]')]\
             .map(r => r.dataset.facilityId);",
            vec![],
        )
        .await;
    serde_json::from_value(ids).expect("ids")
}

/// The text of the overview rows' first (facility) cells, in order.
async fn facility_cells(b: &Browser) -> Vec<String> {
    b.wait("table#facilities").await;
    let cells = b
        .js(
            "return [...document.querySelectorAll('table#facilities tbody tr[data-facility-id]')]\
             .map(r => r.cells[0].textContent.trim());",
            vec![],
        )
        .await;
    serde_json::from_value(cells).expect("cells")
}

/// The `aria-sort` of the sorted header.
async fn sort_state(b: &Browser) -> String {
    b.wait("table#facilities thead th[aria-sort]")
        .await
        .attr("aria-sort")
        .await
        .expect("aria-sort")
        .unwrap_or_default()
}

/// Submits `form` with its submit button (or `requestSubmit`) and waits for the next page.
async fn submit_form(b: &Browser, form: &str) {
    b.js(
        "window.__thermaliq_old_page = true;\n\
         const f = document.querySelector(arguments[0]);\n\
         const s = f.querySelector('button[type=submit], button:not([type]), input[type=submit]');\n\
         if (s) s.click(); else f.requestSubmit();",
        vec![json!(form)],
    )
    .await;
    b.wait_until(
        "!window.__thermaliq_old_page && document.readyState === 'complete'",
        "the page after submitting a form",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_runs_calculations_and_sees_sankey_trend_and_downloads() {
    let demo = Demo::start();
    let operator = demo.token("oscar", "operator");
    let b = Browser::start("calculation", 1280).await;
    b.sign_in(&demo, &operator).await;
    b.goto(&demo.url(&format!("/facilities/{FACILITY}"))).await;
    b.wait("form#run-calculation").await;
    b.shot("facility-before").await;

    // One hour, split `whole`: the new calculation's page.
    let day = &demo.day;
    fill_run_form(
        &b,
        &format!("{day}T02:00"),
        &format!("{day}T03:00"),
        "whole",
    )
    .await;
    b.click("button#run-submit").await;
    b.wait_until(
        "location.pathname.startsWith('/calculations/') && document.readyState === 'complete'",
        "the calculation page",
    )
    .await;
    let id = calculation_id(&b.path().await);
    let h1 = b.text("h1").await;
    assert!(h1.contains(&id), "h1 {h1:?} does not name {id}");
    for figure in ["figure#sankey-energy svg", "figure#sankey-exergy svg"] {
        b.wait(figure).await;
        let size = b
            .js(
                "const r = document.querySelector(arguments[0]).getBoundingClientRect();\n\
                 return [r.width, r.height];",
                vec![json!(figure)],
            )
            .await;
        let (w, h) = (
            size[0].as_f64().unwrap_or(0.0),
            size[1].as_f64().unwrap_or(0.0),
        );
        assert!(w > 50.0 && h > 50.0, "{figure}: {w}×{h}");
    }
    let hash = b.text("code#provenance-hash").await;
    let hash = hash.trim();
    assert!(
        hash.len() == 64 && hash.bytes().all(|c| c.is_ascii_hexdigit()),
        "provenance hash {hash:?}"
    );
    for section in [
        "#results",
        "#inputs",
        "#data-quality",
        "#benchmark",
        "#recommendations",
    ] {
        b.wait(&format!("section{section}")).await;
    }
    b.shot("calculation-page").await;
    b.wait("#sankey").await;
    b.js(
        "document.querySelector(arguments[0]).scrollIntoView();",
        vec![json!("#sankey")],
    )
    .await;
    b.shot("calculation-sankey").await;

    // Downloads: the JSON is the calculation of the page; the CSV and the report answer.
    let json_href = b
        .wait("a#download-json")
        .await
        .prop("href")
        .await
        .expect("href");
    let json_href = json_href.expect("a#download-json has an href");
    assert!(
        json_href.ends_with(&format!("/calculations/{id}/download.json")),
        "{json_href}"
    );
    let got = b.fetch(&json_href, json!({})).await;
    assert_eq!(got["status"], 200, "{got}");
    assert!(
        got["disposition"]
            .as_str()
            .is_some_and(|d| d.starts_with("attachment")),
        "JSON Content-Disposition: {}",
        got["disposition"]
    );
    let doc: Value = serde_json::from_str(got["body"].as_str().expect("body"))
        .unwrap_or_else(|e| panic!("the JSON download does not parse: {e}"));
    assert_eq!(doc["calculation_id"], json!(id));
    assert_eq!(doc["provenance"]["sha256"], json!(hash));
    for (link, attachment) in [("a#download-csv", true), ("a#download-report", false)] {
        let href = b.wait(link).await.prop("href").await.expect("href");
        let href = href.unwrap_or_else(|| panic!("{link} has no href"));
        let got = b.fetch(&href, json!({})).await;
        assert_eq!(got["status"], 200, "{link} {href}: {got}");
        assert!(
            !got["body"].as_str().unwrap_or("").is_empty(),
            "{link}: an empty body"
        );
        if attachment {
            assert!(
                got["disposition"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("attachment")),
                "{link} Content-Disposition: {}",
                got["disposition"]
            );
            assert!(
                got["body"].as_str().unwrap_or("").contains(&id),
                "the CSV does not name {id}"
            );
        }
    }

    // Four hours split hourly: back on the facility page with four points and the band.
    b.goto(&demo.url(&format!("/facilities/{FACILITY}"))).await;
    fill_run_form(
        &b,
        &format!("{day}T04:00"),
        &format!("{day}T08:00"),
        "hourly",
    )
    .await;
    b.click("button#run-submit").await;
    let flash = b.wait("p#flash").await;
    assert_eq!(
        flash.attr("role").await.expect("role").as_deref(),
        Some("status")
    );
    let flash = flash.text().await.expect("text");
    assert!(flash.contains('4'), "flash: {flash:?}");
    assert!(
        b.path()
            .await
            .starts_with(&format!("/facilities/{FACILITY}")),
        "{}",
        b.path().await
    );
    let points = b.all("svg#trend-chart circle[data-calculation-id]").await;
    assert_eq!(points.len(), 4, "trend points");
    let linked = b
        .js(
            "return [...document.querySelectorAll('svg#trend-chart circle[data-calculation-id]')]\
             .every(c => { const a = c.closest('a');\n\
               const h = a && (a.getAttribute('href') || a.getAttribute('xlink:href'));\n\
               return !!h && h.endsWith('/calculations/' + c.dataset.calculationId); });",
            vec![],
        )
        .await;
    assert_eq!(
        linked,
        json!(true),
        "trend points link to their calculations"
    );
    let rows = b.all("table#trend-table tbody tr").await;
    assert_eq!(rows.len(), 4, "trend table rows");
    let chart = b.wait("svg#trend-chart").await;
    assert_eq!(
        chart.attr("role").await.expect("role").as_deref(),
        Some("img")
    );
    let band = b
        .js(
            "const svg = document.querySelector('svg#trend-chart');\n\
             const band = svg.querySelector('[class*=band], [data-series*=band], [id*=band]');\n\
             if (!band) return null;\n\
             const r = band.getBoundingClientRect();\n\
             return { tag: band.tagName, w: r.width, h: r.height, \
               legend: /95/.test(svg.textContent + (svg.parentElement || svg).textContent) };",
            vec![],
        )
        .await;
    assert!(band.is_object(), "no uncertainty band in svg#trend-chart");
    assert!(
        band["w"].as_f64().unwrap_or(0.0) > 10.0 && band["h"].as_f64().unwrap_or(0.0) > 0.0,
        "band: {band}"
    );
    assert_eq!(band["legend"], true, "no 95 % legend for the band: {band}");
    b.wait("section#trend").await;
    b.js(
        "document.querySelector(arguments[0]).scrollIntoView();",
        vec![json!("section#trend")],
    )
    .await;
    b.shot("trend").await;
    // The README's picture: the facility page at 1280 px, tall enough for the trend, the
    // losses and the Sankey diagram.
    b.client
        .set_window_size(1280, 1700)
        .await
        .expect("window size");
    b.js("window.scrollTo(0, 0);", vec![]).await;
    let width = b.js("return window.innerWidth;", vec![]).await;
    assert_eq!(width, 1280, "the README screenshot's width");
    b.shot_as("facility-page.png").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_cannot_run_calculations_and_forms_need_the_csrf_token() {
    let demo = Demo::start();
    let viewer = demo.token("vera", "viewer");
    let operator = demo.token("otto", "operator");
    let b = Browser::start("permissions", 1280).await;
    let facility = demo.url(&format!("/facilities/{FACILITY}"));
    let calculate = format!("/facilities/{FACILITY}/calculate");
    let day = demo.day.clone();
    let (start, end) = (format!("{day}T01:00"), format!("{day}T02:00"));

    // The viewer: the note instead of the controls; a forged POST with a valid csrf: 403.
    b.sign_in(&demo, &viewer).await;
    b.goto(&facility).await;
    let note = b.text("#role-note").await;
    assert!(note.contains("viewer"), "#role-note: {note:?}");
    assert!(
        !b.has("form#run-calculation").await,
        "a viewer sees the run form"
    );
    assert!(
        !b.has("form#upload-readings").await,
        "a viewer sees the upload form"
    );
    b.shot("viewer-facility").await;
    let csrf = page_csrf(&b).await;
    let forged = post_form(
        &b,
        &calculate,
        &[
            ("start", &start),
            ("end", &end),
            ("split", "whole"),
            ("csrf", &csrf),
        ],
    )
    .await;
    assert_eq!(forged["status"], 403, "viewer POST calculate: {forged}");
    let upload = b
        .js_async(
            "fetch(arguments[0], { method: 'POST', credentials: 'same-origin', \
               headers: { 'content-type': 'text/csv', 'x-csrf-token': arguments[1] }, \
               body: 'time,tag,value\\n2020-01-01T00:00:00Z,FT-101,1\\n' })\n\
               .then(r => done(r.status)).catch(e => done(String(e)));",
            vec![
                json!(format!("/facilities/{FACILITY}/readings")),
                json!(csrf),
            ],
        )
        .await;
    assert_eq!(upload, 403, "viewer POST readings");
    // The same csrf is valid: the units switch takes it.
    let units = post_form(
        &b,
        "/units",
        &[("units", "si"), ("back", "/facilities"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(
        units["status"], 200,
        "POST /units with the page's csrf: {units}"
    );
    assert!(
        units["url"].as_str().unwrap_or("").ends_with("/facilities"),
        "{units}"
    );

    // Sign out; the operator: no csrf or a wrong one: 403; with it: the calculation.
    b.goto(&facility).await;
    submit_form(&b, "form#sign-out").await;
    assert!(b.path().await.starts_with("/login"), "{}", b.path().await);
    b.goto(&facility).await;
    b.wait("form#sign-in").await;
    b.sign_in(&demo, &operator).await;
    b.goto(&facility).await;
    b.wait("form#run-calculation").await;
    assert!(!b.has("#role-note").await, "an operator sees #role-note");
    let fields = [
        ("start", start.as_str()),
        ("end", end.as_str()),
        ("split", "whole"),
    ];
    let no_csrf = post_form(&b, &calculate, &fields).await;
    assert_eq!(
        no_csrf["status"], 403,
        "operator POST without csrf: {no_csrf}"
    );
    let wrong = post_form(
        &b,
        &calculate,
        &[
            fields[0],
            fields[1],
            fields[2],
            (
                "csrf",
                "0000000000000000000000000000000000000000000000000000000000000000",
            ),
        ],
    )
    .await;
    assert_eq!(
        wrong["status"], 403,
        "operator POST with a wrong csrf: {wrong}"
    );
    let csrf = page_csrf(&b).await;
    let good = post_form(
        &b,
        &calculate,
        &[fields[0], fields[1], fields[2], ("csrf", &csrf)],
    )
    .await;
    assert_eq!(good["status"], 200, "operator POST with csrf: {good}");
    assert!(
        good["url"]
            .as_str()
            .unwrap_or("")
            .contains("/calculations/"),
        "operator POST with csrf lands on: {}",
        good["url"]
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_navigation_and_800_px_width() {
    let demo = Demo::start();
    let operator = demo.token("kim", "operator");
    let b = Browser::start("keyboard-800px", 800).await;
    b.sign_in(&demo, &operator).await;
    let facility = demo.url(&format!("/facilities/{FACILITY}"));
    b.goto(&facility).await;
    b.wait("form#run-calculation").await;
    let width = b.js("return window.innerWidth;", vec![]).await;
    let width = width.as_f64().expect("innerWidth");
    assert!((780.0..=800.0).contains(&width), "viewport {width} px");
    assert_no_overflow(&b, "the facility page").await;
    b.shot("facility").await;

    // From the top, Tab reaches the skip link first; Enter moves focus to main.
    b.js(
        "document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);",
        vec![],
    )
    .await;
    press(&b, TAB).await;
    let first = b
        .js(
            "const a = document.activeElement;\n\
             return { tag: a.tagName, href: a.getAttribute('href'), text: a.textContent.trim() };",
            vec![],
        )
        .await;
    let href = first["href"].as_str().unwrap_or("");
    assert_eq!(first["tag"], "A", "the first Tab stop: {first}");
    assert!(
        href.starts_with('#'),
        "the first Tab stop is no skip link: {first}"
    );
    let target = b
        .js(
            "const t = document.getElementById(arguments[0]);\n\
             return t ? t.tagName : null;",
            vec![json!(&href[1..])],
        )
        .await;
    assert_eq!(target, "MAIN", "the skip link {href} does not target main");
    b.shot("skip-link-focused").await;
    press(&b, ENTER).await;
    b.wait_until(
        "document.activeElement === document.querySelector('main')",
        "focus on main after the skip link",
    )
    .await;

    // The run form by keyboard: Tab from the split field to the submit button, Enter.
    fill_run_form(
        &b,
        &format!("{}T09:00", demo.day),
        &format!("{}T10:00", demo.day),
        "whole",
    )
    .await;
    let focused = b
        .js(
            "const f = document.querySelector('form#run-calculation');\n\
             const s = f.querySelector('select[name=split], [name=split]:checked');\n\
             s.focus();\n\
             return document.activeElement === s;",
            vec![],
        )
        .await;
    assert_eq!(focused, true, "the split field takes the focus");
    let mut reached = false;
    for _ in 0..8 {
        let id = b.js("return document.activeElement.id;", vec![]).await;
        if id == "run-submit" {
            reached = true;
            break;
        }
        press(&b, TAB).await;
    }
    assert!(
        reached,
        "Tab does not reach button#run-submit from the split field"
    );
    b.shot("run-submit-focused").await;
    press(&b, ENTER).await;
    b.wait_until(
        "location.pathname.startsWith('/calculations/') && document.readyState === 'complete'",
        "the calculation page after a keyboard submit",
    )
    .await;
    b.wait("code#provenance-hash").await;
    assert_no_overflow(&b, "the calculation page").await;
    b.shot("calculation").await;
    b.goto(&demo.url("/facilities")).await;
    b.wait("table#facilities").await;
    assert_no_overflow(&b, "the facilities overview").await;
    b.shot("facilities").await;
    b.close().await;
}

/// WebDriver's key codes.
const TAB: char = '\u{E004}';
const ENTER: char = '\u{E007}';

/// Presses and releases `key` on whatever has the focus.
async fn press(b: &Browser, key: char) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let keys = KeyActions::new("keyboard".to_string())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    b.client.perform_actions(keys).await.expect("key pressed");
    b.client.release_actions().await.expect("keys released");
}

/// Panics when the document is wider than the viewport.
async fn assert_no_overflow(b: &Browser, what: &str) {
    let w = b
        .js(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await;
    let (scroll, inner) = (w[0].as_f64().expect("w"), w[1].as_f64().expect("w"));
    if scroll > inner + 1.0 {
        let culprits = b
            .js(
                "const scrolls = e => { for (let p = e.parentElement; p; p = p.parentElement) {\n\
                   const o = getComputedStyle(p).overflowX;\n\
                   if (o === 'auto' || o === 'scroll' || o === 'hidden') return true; }\n\
                   return false; };\n\
                 return [...document.querySelectorAll('body *')].filter(e => \
                   e.getBoundingClientRect().right > window.innerWidth + 1 && !scrolls(e))\
                   .slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + \
                   ' in section#' + ((e.closest('section[id]') || {}).id || '-') + ' right=' + \
                   Math.round(e.getBoundingClientRect().right));",
                vec![],
            )
            .await;
        b.shot(&format!("overflow-{}", what.replace(' ', "-")))
            .await;
        panic!(
            "{what} overflows horizontally: scrollWidth {scroll} > innerWidth {inner}; {culprits}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_uploads_a_csv_of_readings() {
    let demo = Demo::start();
    let operator = demo.token("uma", "operator");
    let b = Browser::start("upload", 1280).await;
    b.sign_in(&demo, &operator).await;
    b.goto(&demo.url(&format!("/facilities/{FACILITY}"))).await;
    b.wait("form#upload-readings").await;

    // Five readings of the fuel flow in an hour (the day before the demo day) without data.
    let dir = tempfile::tempdir().expect("dir");
    let before = demo.day_before();
    let mut csv = String::from("time,tag,value,quality\n");
    for (i, value) in [1510.0, 1512.5, 1509.0, 1511.25, 1510.75]
        .iter()
        .enumerate()
    {
        csv.push_str(&format!(
            "{before}T05:00:{:02}Z,FT-101,{value},good\n",
            i * 10
        ));
    }
    let file = dir.path().join("fuel-flow.csv");
    std::fs::write(&file, &csv).expect("csv");
    let input = b.wait("input#readings-file").await;
    assert_eq!(
        input.attr("type").await.expect("type").as_deref(),
        Some("file")
    );
    input
        .send_keys(file.to_str().expect("path"))
        .await
        .expect("file chosen");
    b.click("button#upload-submit").await;
    b.wait_until(
        "/inserted/i.test(document.querySelector('#upload-result').textContent)",
        "the upload's result",
    )
    .await;
    let result = b.wait("#upload-result").await;
    assert_eq!(
        result.attr("role").await.expect("role").as_deref(),
        Some("status")
    );
    let text = result.text().await.expect("text");
    assert!(
        regex::Regex::new(r"(?i)(\b5\b\D{0,20}inserted|inserted\D{0,5}\b5\b)")
            .expect("regex")
            .is_match(&text),
        "#upload-result does not report 5 inserted: {text:?}"
    );
    assert_eq!(
        b.path().await,
        format!("/facilities/{FACILITY}"),
        "the upload navigated away"
    );
    let progress = b
        .js(
            "const p = document.querySelector('progress#upload-progress');\n\
             return p ? [p.value, p.max] : null;",
            vec![],
        )
        .await;
    assert!(progress.is_array(), "no progress#upload-progress");
    assert_eq!(
        progress[0], progress[1],
        "progress after the upload: {progress}"
    );
    b.js(
        "document.querySelector('#upload-result').scrollIntoView({ block: 'center' });",
        vec![],
    )
    .await;
    b.shot("uploaded").await;

    // The readings are stored: the same batch through the API is all `unchanged`.
    let (status, body) = demo.api(
        "POST",
        &format!("/v1/thermaliq/facilities/{FACILITY}/readings"),
        "text/csv",
        &csv,
    );
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).expect("report");
    assert_eq!(
        report["unchanged"], 5,
        "the uploaded readings are not stored: {report}"
    );

    // A tag the facility does not have: the error, nothing stored.
    let bad = dir.path().join("unknown-tag.csv");
    std::fs::write(
        &bad,
        format!("time,tag,value\n{before}T06:00:00Z,XX-999,1\n"),
    )
    .expect("csv");
    let input = b.wait("input#readings-file").await;
    input.clear().await.ok();
    input
        .send_keys(bad.to_str().expect("path"))
        .await
        .expect("file chosen");
    b.click("button#upload-submit").await;
    b.wait_until(
        "/XX-999|unknown|rejected|refused|error/i.test(document.querySelector('#upload-result').textContent) \
         && !/\\b5\\b/.test(document.querySelector('#upload-result').textContent)",
        "the upload's error",
    )
    .await;
    b.js(
        "document.querySelector('#upload-result').scrollIntoView({ block: 'center' });",
        vec![],
    )
    .await;
    b.shot("upload-refused").await;
    b.close().await;
}

/// What one `span.qty` shows: its kind, SI value and text.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
struct Qty {
    kind: String,
    si: String,
    text: String,
}

/// Every `span.qty` of the page, in document order.
async fn quantities(b: &Browser) -> Vec<Qty> {
    let v = b
        .js(
            "return [...document.querySelectorAll('span.qty')].map(s => ({ kind: s.dataset.kind \
               || '', si: s.dataset.si || '', text: s.textContent }));",
            vec![],
        )
        .await;
    serde_json::from_value(v).expect("quantities")
}

/// The text of `main` with every `span.qty` replaced by a marker and without the Sankey
/// figures (labels and captions in the chosen units, checked by [`sankey_labels`]),
/// whitespace collapsed.
async fn text_without_quantities(b: &Browser) -> String {
    let v = b
        .js(
            "const c = document.querySelector('main').cloneNode(true);\n\
             c.querySelectorAll('#sankey figure').forEach(s => s.remove());\n\
             c.querySelectorAll('span.qty').forEach(s => s.replaceWith('\u{27e8}qty\u{27e9}'));\n\
             return c.textContent.replace(/\\s+/g, ' ').trim();",
            vec![],
        )
        .await;
    v.as_str().expect("text").to_string()
}

/// The demo's facility and equipment names: data, not quantities, though one says "25 MW".
fn demo_names() -> Vec<&'static str> {
    server::demo::SPEC_TOML
        .lines()
        .filter_map(|l| l.trim().strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .collect()
}

/// The power figures of the Sankey diagrams' labels on the page (`12.34 MW`), outside the
/// demo's names (a long label is drawn as one `text` per line), in document order.
async fn sankey_labels(b: &Browser) -> Vec<String> {
    let v = b
        .js(
            "const out = [];\n\
             for (const svg of document.querySelectorAll('main #sankey svg')) {\n\
               let text = Array.from(svg.querySelectorAll('text'), x => x.textContent).join(' ');\n\
               for (const n of arguments[0]) text = text.split(n).join(' ');\n\
               for (const m of text.matchAll(/[0-9.]+\\s*(kW|MW|kBtu\\/h|MMBtu\\/h|W)\\b/g))\n\
                 out.push(m[0]);\n\
             }\n\
             return out;",
            vec![json!(demo_names())],
        )
        .await;
    serde_json::from_value(v).expect("labels")
}

/// Numbers with an SI unit in the text of `main` outside `span.qty`, outside the Sankey
/// diagrams' SVG (checked by [`sankey_labels`]) and outside the demo's facility and equipment
/// names (data, not quantities), by section: `#section: …text…`.
async fn si_units_left(b: &Browser) -> Vec<String> {
    let names = demo_names();
    let parts = b
        .js(
            "const out = [];\n\
             const strip = e => { const c = e.cloneNode(true);\n\
               c.querySelectorAll('span.qty, svg').forEach(s => s.remove());\n\
               let t = c.textContent.replace(/\\s+/g, ' ');\n\
               for (const n of arguments[0]) t = t.split(n).join(' ');\n\
               return t; };\n\
             for (const s of document.querySelectorAll('main section[id]'))\n\
               if (!s.parentElement.closest('section[id]'))\n\
                 out.push(['#' + s.id, strip(s)]);\n\
             const m = document.querySelector('main').cloneNode(true);\n\
             m.querySelectorAll('section[id]').forEach(s => s.remove());\n\
             out.push(['main outside sections', strip(m)]);\n\
             return out;",
            vec![json!(names)],
        )
        .await;
    let parts: Vec<(String, String)> = serde_json::from_value(parts).expect("parts");
    let si_unit = regex::Regex::new(
        r"[0-9](?:\s|\u{a0})*(?:kW|MW|GW|kJ|MJ|GJ|kPa|MPa|bar|°C|t/h|kg/h|kg/s|MJ/kg|kJ/kg|Nm3/h|Nm³/h|mol/s|m²|m2|m/s|J/\(kg K\)|per GJ)",
    )
    .expect("regex");
    let mut left = Vec::new();
    for (section, text) in &parts {
        let found: Vec<String> = si_unit
            .find_iter(text)
            .map(|m| {
                let from = text[..m.start()]
                    .char_indices()
                    .rev()
                    .nth(30)
                    .map_or(0, |(i, _)| i);
                format!("…{}", &text[from..m.end()])
            })
            .collect();
        if !found.is_empty() {
            left.push(format!("{section} ({}): {found:?}", found.len()));
        }
    }
    left
}

/// Which unit system a unit belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum System {
    Si,
    Us,
}

/// The value a unit shows for an SI value of `kind` (K, Pa, kg/s, mol/s, W, J, J/kg,
/// J/(kg·K), m², m/s, 1/J; Pa above the ambient for a gauge pressure or a difference), and the
/// unit's system; `None` for a unit this test does not know for the kind. The factors are
/// the definitions, independent of the server's: 1 lb = 0.45359237 kg, 1 ft = 0.3048 m,
/// 1 Btu (IT) = 1055.05585262 J, 1 psi = 6894.757293168 Pa, °F = K × 9/5 − 459.67; a normal
/// m³ is at 273.15 K and 101 325 Pa (DIN 1343), a standard ft³ at 60 °F and 14.696 psia
/// (GPA 2172), both ideal gas with R = 8.314462618 J/(mol·K) (CODATA 2018).
fn display_value(kind: &str, unit: &str, si: f64) -> Option<(f64, System)> {
    const LB: f64 = 0.453_592_37;
    const FT: f64 = 0.3048;
    const BTU: f64 = 1_055.055_852_62;
    const PSI: f64 = 6_894.757_293_168;
    const R: f64 = 8.314_462_618;
    let normal_m3_per_mol = R * 273.15 / 101_325.0;
    let scf_per_mol = R * (60.0 + 459.67) * 5.0 / 9.0 / (14.696 * PSI) / FT.powi(3);
    use System::{Si, Us};
    Some(match (kind, unit) {
        ("gauge_pressure", "kPa(g)") => (si / 1e3, Si),
        ("gauge_pressure", "psig") => (si / PSI, Us),
        ("pressure_difference", "kPa") => (si / 1e3, Si),
        ("pressure_difference", "psi") => (si / PSI, Us),
        ("standard_volume_flow", "Nm³/h") => (si * 3_600.0 * normal_m3_per_mol, Si),
        ("standard_volume_flow", "scf/h") => (si * 3_600.0 * scf_per_mol, Us),
        ("area", "m²") => (si, Si),
        ("area", "ft²") => (si / (FT * FT), Us),
        ("velocity", "m/s") => (si, Si),
        ("velocity", "ft/s") => (si / FT, Us),
        ("amount_per_energy", "per GJ") => (si * 1e9, Si),
        ("amount_per_energy", "per MMBtu") => (si * 1e6 * BTU, Us),
        ("temperature", "°C") => (si - 273.15, Si),
        ("temperature", "K") => (si, Si),
        ("temperature", "°F") => (si * 9.0 / 5.0 - 459.67, Us),
        ("temperature_difference", "K" | "°C") => (si, Si),
        ("temperature_difference", "°F" | "°F (Δ)" | "Δ°F") => (si * 9.0 / 5.0, Us),
        ("pressure", "Pa") => (si, Si),
        ("pressure", "kPa") => (si / 1e3, Si),
        ("pressure", "MPa") => (si / 1e6, Si),
        ("pressure", "bar") => (si / 1e5, Si),
        ("pressure", "psia" | "psi") => (si / PSI, Us),
        ("mass_flow", "kg/s") => (si, Si),
        ("mass_flow", "kg/h") => (si * 3_600.0, Si),
        ("mass_flow", "t/h") => (si * 3.6, Si),
        ("mass_flow", "lb/h") => (si * 3_600.0 / LB, Us),
        ("mass_flow", "klb/h") => (si * 3.6 / LB, Us),
        ("power", "W") => (si, Si),
        ("power", "kW") => (si / 1e3, Si),
        ("power", "MW") => (si / 1e6, Si),
        ("power", "GW") => (si / 1e9, Si),
        ("power", "Btu/h") => (si * 3_600.0 / BTU, Us),
        ("power", "kBtu/h") => (si * 3_600.0 / (BTU * 1e3), Us),
        ("power", "MMBtu/h") => (si * 3_600.0 / (BTU * 1e6), Us),
        ("energy", "J") => (si, Si),
        ("energy", "kJ") => (si / 1e3, Si),
        ("energy", "MJ") => (si / 1e6, Si),
        ("energy", "GJ") => (si / 1e9, Si),
        ("energy", "TJ") => (si / 1e12, Si),
        ("energy", "Btu") => (si / BTU, Us),
        ("energy", "kBtu") => (si / (BTU * 1e3), Us),
        ("energy", "MMBtu") => (si / (BTU * 1e6), Us),
        ("specific_energy", "J/kg") => (si, Si),
        ("specific_energy", "kJ/kg") => (si / 1e3, Si),
        ("specific_energy", "MJ/kg") => (si / 1e6, Si),
        ("specific_energy", "Btu/lb") => (si * LB / BTU, Us),
        ("specific_entropy", "kJ/(kg·K)") => (si / 1e3, Si),
        ("specific_entropy", "J/(kg·K)") => (si, Si),
        ("specific_entropy", "Btu/(lb·°F)" | "Btu/(lb·°R)") => (si * LB * 5.0 / 9.0 / BTU, Us),
        _ => return None,
    })
}

/// The number and unit of a displayed quantity, and half a unit of its last decimal.
fn parse_display(text: &str) -> Option<(f64, String, f64)> {
    let re = regex::Regex::new(
        r"^\s*([+\-\u{2212}]?[0-9][0-9,\u{00a0}\u{2009}\u{202f}]*(?:\.([0-9]+))?)\s*(.*?)\s*$",
    )
    .expect("regex");
    let c = re.captures(text)?;
    let number: String = c[1]
        .chars()
        .filter(|ch| !matches!(ch, ',' | '\u{00a0}' | '\u{2009}' | '\u{202f}'))
        .map(|ch| if ch == '\u{2212}' { '-' } else { ch })
        .collect();
    let decimals = c.get(2).map_or(0, |d| d.as_str().len());
    let half = 0.5 * 10f64.powi(-i32::try_from(decimals).ok()?);
    Some((number.parse().ok()?, c[3].to_string(), half))
}

/// Checks every quantity shows its SI value converted into a unit of `system`; the problems.
fn check_quantities(quantities: &[Qty], system: System) -> Vec<String> {
    let mut problems = Vec::new();
    for q in quantities {
        if q.kind == "percent" {
            continue;
        }
        let Ok(si) = q.si.parse::<f64>() else {
            problems.push(format!("{q:?}: data-si is not a number"));
            continue;
        };
        let Some((shown, unit, half)) = parse_display(&q.text) else {
            problems.push(format!("{q:?}: not NUMBER UNIT"));
            continue;
        };
        match display_value(&q.kind, &unit, si) {
            None => problems.push(format!("{q:?}: unknown unit {unit:?} for the kind")),
            Some((_, s)) if s != system => {
                problems.push(format!("{q:?}: a {s:?} unit in the {system:?} system"));
            }
            Some((expected, _)) => {
                // Rounding to the shown decimals, with a little room for the SI value's text.
                if (shown - expected).abs() > half * (1.0 + 1e-6) + expected.abs() * 1e-12 {
                    problems.push(format!("{q:?}: shows {shown}, {expected} expected"));
                }
            }
        }
    }
    problems
}

/// Switches the units with the header's `form#units-switch` and waits for the new page.
async fn switch_units(b: &Browser, to: &str, current: &str) {
    b.js(
        "window.__thermaliq_old_page = true;\n\
         const f = document.querySelector('form#units-switch');\n\
         const c = f.querySelector(`[name=units][value=${arguments[0]}]`);\n\
         if (c.type === 'radio') { c.checked = true; f.requestSubmit(); } else { c.click(); }",
        vec![json!(to)],
    )
    .await;
    b.wait_until(
        &format!(
            "!window.__thermaliq_old_page && document.readyState === 'complete' && \
             document.querySelector('#units-current').textContent.trim() === '{current}'"
        ),
        &format!("units {current}"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_switch_converts_every_quantity_and_nothing_else() {
    let demo = Demo::start();
    let viewer = demo.token("una", "viewer");
    let calc = demo.api_calculate("T00:00", "T01:00");
    let id = calc["calculation_id"]
        .as_str()
        .expect("calculation_id")
        .to_string();
    let b = Browser::start("units", 1280).await;
    b.sign_in(&demo, &viewer).await;
    assert_eq!(
        b.text("#units-current").await.trim(),
        "SI",
        "the default units"
    );
    let mut left_behind = Vec::new();
    for (page, path) in [
        ("calculation", format!("/calculations/{id}")),
        ("facility", format!("/facilities/{FACILITY}")),
    ] {
        b.goto(&demo.url(&path)).await;
        b.wait("main").await;
        let si = quantities(&b).await;
        let least = if page == "calculation" { 10 } else { 3 };
        assert!(si.len() >= least, "{page}: only {} span.qty", si.len());
        let problems = check_quantities(&si, System::Si);
        assert!(
            problems.is_empty(),
            "{page} in SI:\n{}",
            problems.join("\n")
        );
        let si_rest = text_without_quantities(&b).await;
        let si_sankey = sankey_labels(&b).await;
        assert!(!si_sankey.is_empty(), "{page}: no Sankey labels");
        let si_main = b.text("main").await;
        let hash = if page == "calculation" {
            Some(b.text("code#provenance-hash").await)
        } else {
            None
        };
        b.shot(&format!("{page}-si")).await;

        switch_units(&b, "us", "US customary").await;
        assert_eq!(b.path().await, path, "the units switch leaves the page");
        let us = quantities(&b).await;
        assert_eq!(
            us.len(),
            si.len(),
            "{page}: span.qty count changes with the units"
        );
        let problems = check_quantities(&us, System::Us);
        assert!(
            problems.is_empty(),
            "{page} in US:\n{}",
            problems.join("\n")
        );
        for (a, z) in si.iter().zip(&us) {
            assert_eq!(
                (&a.kind, &a.si),
                (&z.kind, &z.si),
                "{page}: the quantities differ"
            );
            if a.kind == "percent" {
                assert_eq!(
                    a.text, z.text,
                    "{page}: a percentage changes with the units"
                );
            }
        }
        let changed = si.iter().zip(&us).filter(|(a, z)| a.text != z.text).count();
        assert!(
            changed * 2 > si.len(),
            "{page}: only {changed} quantities change"
        );
        let us_rest = text_without_quantities(&b).await;
        // The Sankey labels follow the switch too (their values: tests/web_units.rs).
        let us_sankey = sankey_labels(&b).await;
        assert_eq!(si_sankey.len(), us_sankey.len(), "{page}: Sankey labels");
        for (labels, system) in [(&si_sankey, System::Si), (&us_sankey, System::Us)] {
            let in_system = labels
                .iter()
                .all(|l| l.ends_with("Btu/h") == (system == System::Us));
            assert!(in_system, "{page}: Sankey labels {labels:?} in {system:?}");
        }
        // No SI quantity left behind outside span.qty and the Sankey diagrams; checked for
        // both pages, then failed.
        for left in si_units_left(&b).await {
            left_behind.push(format!("{page} page, {left}"));
        }
        if us_rest != si_rest {
            let at = si_rest
                .chars()
                .zip(us_rest.chars())
                .take_while(|(a, z)| a == z)
                .count();
            let around = |s: &str| {
                s.chars()
                    .skip(at.saturating_sub(60))
                    .take(160)
                    .collect::<String>()
            };
            panic!(
                "{page}: text outside span.qty changes with the units at char {at}:\nSI: {}\nUS: {}",
                around(&si_rest),
                around(&us_rest)
            );
        }
        if let Some(hash) = &hash {
            assert_eq!(&b.text("code#provenance-hash").await, hash);
        }
        b.shot(&format!("{page}-us")).await;

        switch_units(&b, "si", "SI").await;
        assert_eq!(
            b.text("main").await,
            si_main,
            "{page}: SI again is not the same"
        );
        assert_eq!(quantities(&b).await, si);
    }
    b.close().await;
    assert!(
        left_behind.is_empty(),
        "SI quantities outside span.qty in US customary units:\n{}",
        left_behind.join("\n")
    );
}
