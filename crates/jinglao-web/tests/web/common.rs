//! The black-box test harness: the real application on `127.0.0.1:0` against a fresh database
//! (SQLite or PostgreSQL) with the seed region tree, a clock the test can move, and helpers to
//! sign in through the real forms.

#![allow(dead_code)]

use std::sync::Arc;

use chrono::Utc;
use jinglao_db::testing::{Fixture, Template, TestDb};
use jinglao_db::users::NewAccount;
use jinglao_db::{Actor, Backend, users};
use jinglao_domain::{Account, ManualClock, RegionCode, Role, Username};
use jinglao_web::auth::password;
use jinglao_web::config::LogSettings;
use jinglao_web::{AppState, Application, Keys, Settings};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use scraper::{Html, Selector};

/// The password every test account gets.
pub const PASSWORD: &str = "Test-Password-2026";

/// A running application.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Shared state (database, keys, clock).
    pub state: AppState,
    /// The clock the server uses.
    pub clock: ManualClock,
    /// The database (kept alive for the test's duration).
    pub db: TestDb,
    /// The demo provider's id.
    pub provider_id: uuid::Uuid,
    /// The demo accounts, with their passwords.
    pub demo: Vec<jinglao_fixtures::demo::DemoAccount>,
    /// Evidence files of this test.
    pub files: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Fixture for TestApp {
    fn start(backend: Backend) -> impl std::future::Future<Output = Self> + Send {
        TestApp::spawn(backend)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.server.abort();
    }
}

/// A page, parsed.
pub struct Page {
    /// Status code.
    pub status: StatusCode,
    /// The HTML.
    pub html: Html,
    /// The raw text.
    pub text: String,
}

impl Page {
    /// Texts of the elements matching a CSS selector.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let sel = Selector::parse(selector).expect("valid selector");
        self.html
            .select(&sel)
            .map(|e| e.text().collect::<String>().trim().to_string())
            .collect()
    }

    /// The first text matching a selector.
    pub fn text_of(&self, selector: &str) -> Option<String> {
        self.texts(selector).into_iter().next()
    }

    /// An attribute of the first element matching a selector.
    pub fn attr(&self, selector: &str, attr: &str) -> Option<String> {
        let sel = Selector::parse(selector).expect("valid selector");
        self.html
            .select(&sel)
            .next()
            .and_then(|e| e.value().attr(attr).map(str::to_string))
    }

    /// An attribute of every element matching a selector (empty where it is absent).
    pub fn attrs(&self, selector: &str, attr: &str) -> Vec<String> {
        let sel = Selector::parse(selector).expect("valid selector");
        self.html
            .select(&sel)
            .map(|e| e.value().attr(attr).unwrap_or_default().to_string())
            .collect()
    }

    /// The page's CSRF token.
    pub fn csrf(&self) -> String {
        self.attr("input[name=_csrf]", "value")
            .expect("the page has a form with a CSRF token")
    }

    /// The `<title>`.
    pub fn title(&self) -> String {
        self.text_of("title").unwrap_or_default()
    }
}

impl TestApp {
    /// Starts the application on a fresh database with the seed regions and demo provider.
    pub async fn spawn(backend: Backend) -> TestApp {
        // Regions, the demo provider and the demo accounts are loaded once per test process
        // into a template database; each test gets a copy of it.
        static SEEDED: Template<(Vec<jinglao_fixtures::demo::DemoAccount>, uuid::Uuid)> =
            Template::new();
        jinglao_web::telemetry::init(&LogSettings {
            format: "pretty".into(),
            filter: "warn".into(),
        });
        password::use_test_cost();
        let keys = Keys::derive(&[42; 32]);
        let (db, (demo, provider_id)) = SEEDED
            .instantiate(backend, async |db: &jinglao_db::Db| {
                jinglao_db::migrate::run(db).await.expect("migrations run");
                let demo = jinglao_fixtures::demo::seed(db, &keys)
                    .await
                    .expect("seed loads");
                let mut c = db.acquire().await.unwrap();
                let provider = jinglao_db::providers::by_credit_code(
                    &mut c.conn(),
                    jinglao_fixtures::demo::DEMO_PROVIDER_CREDIT_CODE,
                )
                .await
                .unwrap()
                .expect("demo provider");
                (demo, provider.id)
            })
            .await;
        let files = tempfile::tempdir().expect("a directory for evidence files");
        let settings = Settings {
            database_url: db.url.clone(),
            listen: "127.0.0.1:0".parse().unwrap(),
            secret_key_file: None,
            files_dir: files.path().to_path_buf(),
            audit: jinglao_web::config::AuditSettings {
                anchor_file: Some(files.path().join("audit-anchors.log")),
                ..Default::default()
            },
            ..Settings::default()
        };
        let clock = ManualClock::starting_now();
        let app = Application::build(settings, db.db.clone(), keys, Arc::new(clock.clone()))
            .await
            .expect("app builds");
        let base = format!("http://{}", app.local_addr());
        let state = app.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = app
                .run_until_stopped(async {
                    let _ = rx.await;
                })
                .await;
        });
        TestApp {
            base,
            state,
            clock,
            db,
            provider_id,
            demo,
            files,
            server,
            stop: Some(tx),
        }
    }

    /// A browser-like client: keeps cookies, does not follow redirects.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap()
    }

    /// Moves the test clock forward to the next 08:00 Beijing time unless it is already
    /// morning (06:00–12:00), for a test whose day must not cross midnight whenever it runs.
    pub fn morning(&self) {
        use chrono::Timelike;
        let local = self
            .clock_now()
            .with_timezone(&jinglao_domain::clock::china_offset());
        if !(6..12).contains(&local.hour()) {
            let next = if local.hour() < 6 {
                local.date_naive()
            } else {
                local.date_naive().succ_opt().unwrap()
            };
            let eight = next
                .and_hms_opt(8, 0, 0)
                .unwrap()
                .and_local_timezone(jinglao_domain::clock::china_offset())
                .unwrap();
            self.clock
                .advance(eight.with_timezone(&chrono::Utc) - self.clock_now());
        }
    }

    /// The application's "now" (the test clock).
    pub fn clock_now(&self) -> chrono::DateTime<Utc> {
        self.state.clock.now()
    }

    /// The absolute URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates an account with [`PASSWORD`].
    pub async fn create_user(&self, username: &str, role: Role, region: &str) -> Account {
        let provider_id =
            matches!(role, Role::ProviderAdmin | Role::Caregiver).then_some(self.provider_id);
        users::create(
            &self.state.db,
            &self.state.keys.audit_chain,
            &Actor::cli(),
            NewAccount {
                username: Username::parse(username).unwrap(),
                display_name: format!("测试 {username}"),
                role,
                region_code: RegionCode::parse(region).unwrap(),
                provider_id,
                password_hash: password::hash(PASSWORD).await.unwrap(),
                must_change_password: false,
            },
            Utc::now(),
        )
        .await
        .expect("test account is created")
    }

    /// GETs a page with `client` and parses it.
    pub async fn get(&self, client: &reqwest::Client, path: &str) -> Page {
        Self::page(client.get(self.url(path)).send().await.unwrap()).await
    }

    /// POSTs a form and returns the raw response.
    pub async fn post_form(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client.post(self.url(path)).form(form).send().await.unwrap()
    }

    /// Parses a response as a page.
    pub async fn page(resp: reqwest::Response) -> Page {
        let status = resp.status();
        let text = resp.text().await.unwrap();
        Page {
            status,
            html: Html::parse_document(&text),
            text,
        }
    }

    /// Signs in through the form; returns the client and the response to the POST.
    pub async fn login_response(
        &self,
        username: &str,
        password: &str,
    ) -> (reqwest::Client, reqwest::Response) {
        let client = self.client();
        let page = self.get(&client, "/login").await;
        let csrf = page.csrf();
        let resp = self
            .post_form(
                &client,
                "/login",
                &[
                    ("_csrf", &csrf),
                    ("username", username),
                    ("password", password),
                ],
            )
            .await;
        (client, resp)
    }

    /// Signs in and asserts it worked.
    pub async fn login(&self, username: &str) -> reqwest::Client {
        let (client, resp) = self.login_response(username, PASSWORD).await;
        assert_eq!(
            resp.status(),
            StatusCode::SEE_OTHER,
            "sign-in of {username} should redirect"
        );
        client
    }

    /// An API token for an account.
    pub async fn token(&self, username: &str) -> String {
        let resp = reqwest::Client::new()
            .post(self.url("/api/v1/auth/token"))
            .json(&serde_json::json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "token for {username}");
        let body: serde_json::Value = resp.json().await.unwrap();
        body["token"].as_str().unwrap().to_string()
    }

    /// GET on the API with a bearer token.
    pub async fn api_get(&self, token: &str, path: &str) -> (StatusCode, serde_json::Value) {
        let resp = reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body = resp.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    /// POST of JSON on the API with a bearer token.
    pub async fn api_post(
        &self,
        token: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        self.api_send(reqwest::Method::POST, token, path, body)
            .await
    }

    /// PUT of JSON on the API with a bearer token.
    pub async fn api_put(
        &self,
        token: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        self.api_send(reqwest::Method::PUT, token, path, body).await
    }

    async fn api_send(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        let resp = reqwest::Client::new()
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body = resp.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    /// Number of audit entries with this action.
    pub async fn audit_count(&self, action: &str) -> usize {
        jinglao_db::audit::list(
            &self.state.db,
            &jinglao_domain::Scope::All,
            &jinglao_db::audit::AuditFilter {
                action: Some(action.into()),
                ..Default::default()
            },
            10_000,
        )
        .await
        .unwrap()
        .len()
    }
}

/// The value of a cookie in a response's `Set-Cookie` headers.
pub fn set_cookie_value(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Checks an OCDS release or record package against the OCDS 1.1 JSON Schema with the
/// validator in `tools/ocds` (Python `jsonschema`). Without Python's `jsonschema` it says so and
/// passes, unless `JINGLAO_REQUIRE_OCDS_SCHEMA` is set (as `.ci/run` does), which makes its
/// absence a failure.
pub fn assert_valid_ocds(package: &str) {
    let tool =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/ocds/validate.py");
    let have = std::process::Command::new("python3")
        .args(["-c", "import jsonschema, referencing"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var("JINGLAO_REQUIRE_OCDS_SCHEMA").is_err(),
            "Python's jsonschema is missing: python3 -m pip install jsonschema"
        );
        eprintln!("skipped the OCDS schema check: python3 -m pip install jsonschema");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("package.json");
    std::fs::write(&file, package).unwrap();
    let out = std::process::Command::new("python3")
        .arg(&tool)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the package does not validate against the OCDS 1.1 schema:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
