//! Sign-in, sessions, CSRF and the security headers of the browser application, through the
//! real router over HTTP, on SQLite and on PostgreSQL; and the `web_sessions` store methods
//! on both backends.

mod web_support;

use reqwest::StatusCode;
use store::{Store, WebSession};
use web_support::{WebApp, hidden, pair, set_cookie};

/// Runs the session checks on one backend.
async fn sessions_behave(app: &WebApp) {
    // Sign-in: the cookie is HttpOnly, Secure, SameSite=Strict, site-wide, for the TTL.
    let (cookie, csrf) = app.login_csrf().await;
    let r = app
        .post_form(
            "/login",
            &cookie,
            &[
                ("token", &app.operator),
                ("csrf", &csrf),
                ("next", "/facilities?q=x"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/facilities?q=x");
    let raw = set_cookie(&r, "thermaliq_session").expect("session cookie");
    for flag in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=28800",
    ] {
        assert!(raw.split("; ").any(|a| a == flag), "{flag} missing: {raw}");
    }
    let session = pair(&raw);
    // Only the digest is stored, not the secret.
    let secret = session.trim_start_matches("thermaliq_session=");
    assert_eq!(secret.len(), 64);
    assert!(app.store.web_session(secret).await.unwrap().is_none());

    // A page with the session shows who is signed in.
    let r = app.get("/facilities", &session).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"whoami\""), "{html}");
    assert!(html.contains("Otto") && html.contains("(operator)"));

    // The units switch refuses a wrong CSRF token and accepts the session's.
    let token = hidden(&html, "csrf");
    let r = app
        .post_form(
            "/units",
            &session,
            &[("units", "us"), ("back", "/facilities"), ("csrf", "0")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("CSRF"));
    let r = app
        .post_form(
            "/units",
            &session,
            &[
                ("units", "us"),
                ("back", "//evil.example/"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/facilities",
        "an off-site back is not followed"
    );
    let units = set_cookie(&r, "thermaliq_units").expect("units cookie");
    assert!(units.starts_with("thermaliq_units=us;") && units.contains("SameSite=Strict"));

    // Sign-out needs the CSRF token, then ends the session.
    let r = app.post_form("/logout", &session, &[("csrf", "")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .post_form("/logout", &session, &[("csrf", &token)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login");
    assert!(
        set_cookie(&r, "thermaliq_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    let r = app.get("/facilities", &session).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Revoking the token ends its sessions at the next request.
    let (session, _) = app.sign_in(&app.operator).await;
    assert_eq!(
        app.get("/facilities", &session).await.status(),
        StatusCode::OK
    );
    assert!(app.store.revoke_token(&app.operator_id).await.unwrap());
    let r = app.get("/facilities", &session).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?next=%2Ffacilities");
    // And the revoked token cannot sign in again.
    let (cookie, csrf) = app.login_csrf().await;
    let r = app
        .post_form(
            "/login",
            &cookie,
            &[("token", &app.operator), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_on_sqlite() {
    sessions_behave(&web_support::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_on_postgres() {
    sessions_behave(&web_support::postgres("session").await).await;
}

#[tokio::test]
async fn a_failed_sign_in_says_why_and_opens_no_session() {
    let app = web_support::sqlite().await;
    let (cookie, csrf) = app.login_csrf().await;
    let wrong = format!("tq_{}", "0".repeat(64));
    let r = app
        .post_form("/login", &cookie, &[("token", &wrong), ("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&r, "thermaliq_session").is_none());
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"sign-in-error\" role=\"alert\""),
        "{html}"
    );
    assert!(html.contains("id=\"sign-in\""));
    // The login CSRF cookie must match the form: a cross-site post has neither.
    let r = app
        .post_form("/login", "", &[("token", &app.viewer), ("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&r, "thermaliq_session").is_none());
    let r = app
        .post_form("/login", &cookie, &[("token", &app.viewer), ("csrf", "x")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_sign_in_form_is_labelled_and_keeps_only_local_next() {
    let app = web_support::sqlite().await;
    let r = app.get("/login?next=%2Fcalculations%2FCALC-1", "").await;
    let login_cookie = set_cookie(&r, "thermaliq_login_csrf").unwrap();
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"));
    let html = r.text().await.unwrap();
    for needle in [
        "<form id=\"sign-in\"",
        "<label for=\"token\"",
        "id=\"token\" type=\"password\" name=\"token\" autocomplete=\"off\"",
        "id=\"sign-in-submit\"",
        "name=\"next\" value=\"/calculations/CALC-1\"",
        "lang=\"en\"",
    ] {
        assert!(html.contains(needle), "{needle} missing: {html}");
    }
    let html = app
        .get("/login?next=%2F%2Fevil.example%2F", "")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("evil.example"),
        "an off-site next is dropped"
    );
    // Signing in with an off-site next goes to the facilities.
    let (cookie, csrf) = app.login_csrf().await;
    let r = app
        .post_form(
            "/login",
            &cookie,
            &[
                ("token", &app.viewer),
                ("csrf", &csrf),
                ("next", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(r.headers()["location"], "/facilities");
}

#[tokio::test]
async fn pages_need_a_session_and_posts_answer_401() {
    let app = web_support::sqlite().await;
    let r = app.get("/facilities?status=ok", "").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/login?next=%2Ffacilities%3Fstatus%3Dok"
    );
    let r = app.get("/", "").await;
    assert_eq!(r.headers()["location"], "/login");
    let r = app
        .post_form("/units", "thermaliq_session=nonsense", &[("units", "us")])
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let (session, _) = app.sign_in(&app.viewer).await;
    let r = app.get("/", &session).await;
    assert_eq!(r.headers()["location"], "/facilities");
}

#[tokio::test]
async fn an_expired_session_is_refused_and_removed() {
    let app = web_support::sqlite().await;
    let (session, _) = app.sign_in(&app.viewer).await;
    let secret = session.trim_start_matches("thermaliq_session=");
    let digest = server::web::session::digest_hex(secret);
    let found = app
        .store
        .web_session(&digest)
        .await
        .unwrap()
        .expect("stored");
    // The same session, expired a microsecond ago.
    let now = store::now_us();
    assert!(app.store.delete_web_session(&digest).await.unwrap());
    app.store
        .insert_web_session(&WebSession {
            created_at_us: now - 10,
            expires_at_us: now - 1,
            ..found.session
        })
        .await
        .unwrap();
    let r = app.get("/facilities", &session).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(app.store.web_session(&digest).await.unwrap().is_none());
}

#[tokio::test]
async fn the_session_lasts_as_configured() {
    let app = web_support::sqlite_with(|s| {
        s.web_session_ttl = std::time::Duration::from_secs(600);
    })
    .await;
    let before = store::now_us();
    let (session, raw) = app.sign_in(&app.viewer).await;
    assert!(raw.contains("Max-Age=600"), "{raw}");
    let digest = server::web::session::digest_hex(session.trim_start_matches("thermaliq_session="));
    let found = app.store.web_session(&digest).await.unwrap().unwrap();
    let lifetime = found.session.expires_at_us - found.session.created_at_us;
    assert_eq!(lifetime, 600_000_000);
    assert!(found.session.created_at_us >= before);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_html_errors() {
    let app = web_support::sqlite().await;
    let (session, _) = app.sign_in(&app.viewer).await;
    for (path, status) in [
        ("/login", StatusCode::OK),
        ("/facilities", StatusCode::OK),
        ("/no/such/page", StatusCode::NOT_FOUND),
        ("/calculations/CALC-NONE", StatusCode::NOT_FOUND),
    ] {
        let r = app.get(path, &session).await;
        assert_eq!(r.status(), status, "{path}");
        let h = r.headers();
        assert_eq!(
            h["content-security-policy"],
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            "{path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert!(
            h["content-type"].to_str().unwrap().starts_with("text/html"),
            "{path}"
        );
    }
    // The API keeps its JSON 404.
    let r = app.get("/v1/thermaliq/no-such-route", "").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["content-type"], "application/json");
    // Assets: immutable, versioned by content in the pages.
    let html = app.get("/facilities", &session).await.text().await.unwrap();
    let css_at = html.find("/static/app.css?v=").expect("versioned css link");
    let version = &html[css_at + 18..css_at + 34];
    assert!(version.bytes().all(|b| b.is_ascii_hexdigit()), "{version}");
    for (path, ty) in [
        ("/static/app.css", "text/css"),
        ("/static/app.js", "text/javascript"),
    ] {
        let r = app.get(path, "").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(ty)
        );
    }
}

/// The store methods of `web_sessions` on one backend.
async fn store_methods(store: &Store) {
    let (_, token) = server::http::auth::new_token("t", store::Role::Viewer, None);
    store.insert_token(&token).await.unwrap();
    let session = WebSession {
        id_digest: "a".repeat(64),
        token_id: token.id.clone(),
        csrf: "b".repeat(64),
        created_at_us: 1_000,
        expires_at_us: 2_000,
    };
    store.insert_web_session(&session).await.unwrap();
    let found = store
        .web_session(&session.id_digest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.session, session);
    assert_eq!(
        (found.name.as_str(), found.role),
        ("t", store::Role::Viewer)
    );
    assert_eq!(found.token_revoked_at_us, None);
    assert!(matches!(
        store.insert_web_session(&session).await,
        Err(store::Error::Conflict { .. })
    ));
    // A malformed session is refused naming the field.
    let bad = WebSession {
        id_digest: "c".repeat(64),
        expires_at_us: 1_000,
        ..session.clone()
    };
    match store.insert_web_session(&bad).await {
        Err(store::Error::Constraint { field, .. }) => assert_eq!(field, "expires_at_us"),
        other => panic!("{other:?}"),
    }
    // A session of an unknown token is refused.
    let orphan = WebSession {
        id_digest: "d".repeat(64),
        token_id: "TOK-NONE".into(),
        ..session.clone()
    };
    assert!(store.insert_web_session(&orphan).await.is_err());
    let later = WebSession {
        id_digest: "e".repeat(64),
        expires_at_us: 5_000,
        ..session.clone()
    };
    store.insert_web_session(&later).await.unwrap();
    assert_eq!(store.delete_expired_web_sessions(2_000).await.unwrap(), 1);
    assert!(
        store
            .web_session(&session.id_digest)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.delete_web_session(&later.id_digest).await.unwrap());
    assert!(!store.delete_web_session(&later.id_digest).await.unwrap());
}

#[tokio::test]
async fn web_session_store_on_sqlite() {
    let app = web_support::sqlite().await;
    store_methods(&app.store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_session_store_on_postgres() {
    let app = web_support::postgres("store").await;
    store_methods(&app.store).await;
}
