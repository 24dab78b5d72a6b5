//! A real browser: headless Chromium (driven through chromedriver) signs in as each demo role,
//! sees its dashboard, switches large-print mode and back, and signs out, using only the
//! keyboard-reachable controls of the pages. Screenshots are written to `target/screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without them
//! each test says it was skipped and why, and passes. The tests run once, on SQLite: what
//! they add is the browser's side (scripts, layout, keyboard); every query they reach is
//! already run on both databases by the web and storage tests.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::TestApp;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// Defines a browser test: `<name>::on_sqlite`, skipped with a message when Chromium or
/// chromedriver is not installed.
macro_rules! browser_test {
    ($(#[$meta:meta])* async fn $name:ident($arg:ident : $fixture:ty) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($arg: $fixture) $body

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                if let Some(missing) = super::missing_browser() {
                    eprintln!(
                        "skipped {}: {missing} is not installed (apt-get install chromium chromium-driver)",
                        module_path!()
                    );
                    return;
                }
                body(TestApp::spawn(jinglao_db::Backend::Sqlite).await).await
            }
        }
    };
}

/// The browser program that is missing, if any.
fn missing_browser() -> Option<&'static str> {
    ["/usr/bin/chromium", "chromedriver"]
        .into_iter()
        .find(|program| {
            Command::new(program)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_err()
        })
}

struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed (apt-get install chromium chromium-driver)");
    Driver { child, port }
}

async fn browser(driver: &Driver, width: u32, height: u32) -> Client {
    let mut caps = serde_json::Map::new();
    let mut options = json!({
        "binary": "/usr/bin/chromium",
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", format!("--window-size={},{height}", width.max(500)),
            "--lang=zh-CN"
        ]
    });
    // Headless windows are at least 500 px wide: a phone's width is emulated instead, so
    // that the page is laid out at exactly `width` CSS pixels.
    if width < 500 {
        options["mobileEmulation"] = json!({
            "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1.0 }
        });
    }
    caps.insert("goog:chromeOptions".into(), options);
    let url = format!("http://127.0.0.1:{}", driver.port);
    for _ in 0..50 {
        if let Ok(c) = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not start a chromium session through chromedriver on {url}");
}

/// Waits until the address bar holds `part`, i.e. a form's GET submission has loaded (an
/// element found earlier on the page it replaces would otherwise go stale).
async fn wait_for_url(c: &Client, part: &str) {
    for _ in 0..100 {
        if c.current_url().await.unwrap().as_str().contains(part) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the address never came to contain {part}");
}

/// Clicks the element once the page that has it has loaded; a click that races the end of the
/// previous navigation ("aborted by navigation") is tried again.
async fn click_when_ready(c: &Client, css: &str) {
    for _ in 0..5 {
        let found = c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await;
        if let Ok(e) = found
            && e.click().await.is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("could not click {css}");
}

fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn body_font_px(c: &Client) -> f64 {
    let v = c
        .execute(
            "return parseFloat(getComputedStyle(document.body).fontSize);",
            vec![],
        )
        .await
        .unwrap();
    v.as_f64().unwrap()
}

async fn html_class(c: &Client) -> String {
    c.execute("return document.documentElement.className;", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap_or("")
        .to_string()
}

browser_test! {
    async fn every_demo_role_signs_in_sees_its_dashboard_and_can_switch_to_large_print(app: TestApp) {
        let backend = app.db.db.backend().as_str();
        let driver = start_driver();
        let c = browser(&driver, 1280, 900).await;
        let shots = screenshot_dir();
        for account in &app.demo {
            let password = account.password.clone().expect("fresh demo accounts have passwords");
            c.goto(&app.url("/login")).await.unwrap();
            // The skip link is the first thing the keyboard reaches.
            let first_tab = c.execute(
                "document.body.focus(); return document.querySelector('a.skip-link').getAttribute('href');", vec![],
            ).await.unwrap();
            assert_eq!(first_tab, "#main");
            c.find(Locator::Id("username")).await.unwrap().send_keys(&account.username).await.unwrap();
            c.find(Locator::Id("password")).await.unwrap().send_keys(&password).await.unwrap();
            c.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();

            let role = c.wait().at_most(Duration::from_secs(10))
                .for_element(Locator::Id("role-label")).await
                .unwrap_or_else(|_| panic!("{} reaches the dashboard", account.username));
            assert_eq!(role.attr("data-role").await.unwrap().as_deref(), Some(account.role.as_str()));
            assert_eq!(role.text().await.unwrap(), account.role.label());
            let heading = c.find(Locator::Id("dashboard-title")).await.unwrap().text().await.unwrap();
            assert!(heading.contains(&account.display_name), "{heading}");
            let normal = body_font_px(&c).await;
            let png = c.screenshot().await.unwrap();
            std::fs::write(shots.join(format!("{backend}-dashboard-{}.png", account.role.as_str())), png).unwrap();

            // Large print: a plain form button, saved on the account.
            c.find(Locator::Id("large-print-toggle")).await.unwrap().click().await.unwrap();
            c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("html.large-print")).await.unwrap();
            let large = body_font_px(&c).await;
            assert!(large >= 18.0 && large > normal, "large print {large}px vs normal {normal}px");
            let png = c.screenshot().await.unwrap();
            std::fs::write(shots.join(format!("{backend}-dashboard-{}-large-print.png", account.role.as_str())), png).unwrap();
            c.find(Locator::Id("large-print-toggle")).await.unwrap().click().await.unwrap();
            // Wait for the new page: the old one is still in the DOM right after the click.
            c.wait().at_most(Duration::from_secs(10))
                .for_element(Locator::Css("html:not(.large-print) #role-label")).await.unwrap();
            assert_eq!(html_class(&c).await, "");
            assert!((body_font_px(&c).await - normal).abs() < 0.01, "back to the standard size");

            c.find(Locator::Id("logout")).await.unwrap().click().await.unwrap();
            c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("login-submit")).await.unwrap();
        }
        c.close().await.unwrap();
    }
}

browser_test! {
    async fn a_county_worker_browses_its_county_on_a_phone_sized_screen(app: TestApp) {
        let backend = app.db.db.backend().as_str();
        app.create_user("phone_county", jinglao_domain::Role::CountyStaff, "430302").await;
        let driver = start_driver();
        let c = browser(&driver, 390, 844).await;
        c.goto(&app.url("/regions/430302")).await.unwrap();
        // Not signed in: the sign-in page comes first and returns to the region afterwards.
        c.find(Locator::Id("username")).await.unwrap().send_keys("phone_county").await.unwrap();
        c.find(Locator::Id("password")).await.unwrap().send_keys(crate::common::PASSWORD).await.unwrap();
        c.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
        let name = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("region-name")).await.unwrap();
        assert_eq!(name.text().await.unwrap(), "雨湖区");
        let rows = c.find_all(Locator::Css("#children tbody tr")).await.unwrap();
        assert!(rows.len() >= 10);
        let png = c.screenshot().await.unwrap();
        std::fs::write(screenshot_dir().join(format!("{backend}-phone-region.png")), png).unwrap();
        assert!(fits_width(&c).await, "no sideways scrolling on a phone: {:?}", too_wide(&c).await);
        c.close().await.unwrap();
    }
}

browser_test! {
    async fn an_administrator_and_an_auditor_walk_through_their_pages(app: TestApp) {
        let backend = app.db.db.backend().as_str();
        let shots = screenshot_dir();
        let pw = |role: jinglao_domain::Role| {
            app.demo.iter().find(|a| a.role == role).unwrap().password.clone().unwrap()
        };
        let driver = start_driver();
        let c = browser(&driver, 1280, 1000).await;
        let sign_in = |name: &'static str, password: String| {
            let c = c.clone();
            let url = app.url("/login");
            async move {
                c.goto(&url).await.unwrap();
                c.find(Locator::Id("username")).await.unwrap().send_keys(name).await.unwrap();
                c.find(Locator::Id("password")).await.unwrap().send_keys(&password).await.unwrap();
                c.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
                c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("role-label")).await.unwrap();
            }
        };

        sign_in("demo_admin", pw(jinglao_domain::Role::Admin)).await;
        c.goto(&app.url("/admin/users/new")).await.unwrap();
        c.find(Locator::Id("create-user")).await.unwrap().click().await.unwrap();
        let summary = c.wait().at_most(Duration::from_secs(10))
            .for_element(Locator::Id("error-summary")).await.unwrap();
        assert!(summary.text().await.unwrap().contains("用户名"));
        assert!(c.title().await.unwrap().starts_with("错误："));
        std::fs::write(shots.join(format!("{backend}-admin-new-user-errors.png")), c.screenshot().await.unwrap()).unwrap();
        c.find(Locator::Id("username")).await.unwrap().send_keys("chen_jing").await.unwrap();
        c.find(Locator::Id("display_name")).await.unwrap().send_keys("陈静").await.unwrap();
        c.find(Locator::Css("#role option[value=assessor]")).await.unwrap().click().await.unwrap();
        // The region is picked level by level: the province, then the city.
        c.find(Locator::Css("#region_code-levels select[data-depth='0']")).await.unwrap().select_by_label("湖南省").await.unwrap();
        c.wait().at_most(Duration::from_secs(5)).for_element(Locator::Css("#region_code-levels select[data-depth='1']")).await.unwrap()
            .select_by_label("湘潭市").await.unwrap();
        let value = c.execute("return document.getElementById('region_code').value;", vec![]).await.unwrap();
        assert_eq!(value, serde_json::Value::String("4303".into()));
        c.find(Locator::Id("create-user")).await.unwrap().click().await.unwrap();
        let temp = c.wait().at_most(Duration::from_secs(10))
            .for_element(Locator::Id("temporary-password")).await.unwrap();
        assert_eq!(temp.text().await.unwrap().len(), 19);
        std::fs::write(shots.join(format!("{backend}-admin-temporary-password.png")), c.screenshot().await.unwrap()).unwrap();
        c.goto(&app.url("/admin/users")).await.unwrap();
        let rows = c.find_all(Locator::Css("#users tbody tr")).await.unwrap();
        assert_eq!(rows.len(), 16, "15 demo accounts (one per role, two more assessors and a cashier) and the new one");
        std::fs::write(shots.join(format!("{backend}-admin-users.png")), c.screenshot().await.unwrap()).unwrap();
        c.goto(&app.url("/regions/430302001001")).await.unwrap();
        c.find(Locator::Css("#area-type-form input[value=rural]")).await.unwrap().click().await.unwrap();
        c.find(Locator::Css("#area-type-form button")).await.unwrap().click().await.unwrap();
        let notice = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("notice")).await.unwrap();
        assert_eq!(notice.text().await.unwrap(), "已保存。");
        assert!(c.find(Locator::Id("region-area-type")).await.unwrap().text().await.unwrap().starts_with("农村"));
        std::fs::write(shots.join(format!("{backend}-region-community.png")), c.screenshot().await.unwrap()).unwrap();
        c.find(Locator::Id("logout")).await.unwrap().click().await.unwrap();
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("login-submit")).await.unwrap();

        sign_in("demo_auditor", pw(jinglao_domain::Role::Auditor)).await;
        c.goto(&app.url("/audit")).await.unwrap();
        c.find(Locator::Id("verify-chain")).await.unwrap().click().await.unwrap();
        let v = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("verification")).await.unwrap();
        assert!(v.text().await.unwrap().contains("校验通过"));
        let actions = c.find(Locator::Id("audit-entries")).await.unwrap().text().await.unwrap();
        assert!(actions.contains("修改区划") && actions.contains("新建账号"), "{actions}");
        std::fs::write(shots.join(format!("{backend}-audit.png")), c.screenshot().await.unwrap()).unwrap();
        c.close().await.unwrap();
    }
}

browser_test! {
    async fn a_county_worker_finds_an_elder_reads_the_record_and_the_assessment_report(app: TestApp) {
        let backend = app.db.db.backend().as_str();
        let shots = screenshot_dir();
        jinglao_fixtures::demo::seed_population(&app.state.db, &app.state.keys, 400, 7, |_| {})
            .await
            .unwrap();
        let pw = app.demo.iter().find(|a| a.role == jinglao_domain::Role::CountyStaff).unwrap().password.clone().unwrap();
        let driver = start_driver();
        let c = browser(&driver, 1280, 1100).await;
        c.goto(&app.url("/elders")).await.unwrap();
        c.find(Locator::Id("username")).await.unwrap().send_keys("demo_county_staff").await.unwrap();
        c.find(Locator::Id("password")).await.unwrap().send_keys(&pw).await.unwrap();
        c.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("search-elders")).await.unwrap();

        // Filter by an ability level: the list shows only people with an effective assessment.
        c.find(Locator::Css("#ability option[value='2']")).await.unwrap().click().await.unwrap();
        c.find(Locator::Id("search-elders")).await.unwrap().click().await.unwrap();
        // The unfiltered page has the same table: wait for the filtered page to replace it.
        wait_for_url(&c, "ability=2").await;
        let table = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("elders")).await.unwrap();
        let text = table.text().await.unwrap();
        assert!(text.contains("中度失能"), "{text}");
        assert!(text.contains("**********"), "ID numbers are masked in the list");
        std::fs::write(shots.join(format!("{backend}-elders-search.png")), c.screenshot().await.unwrap()).unwrap();

        c.find(Locator::Css("#elders tbody tr a")).await.unwrap().click().await.unwrap();
        let masked = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("id-masked")).await.unwrap();
        assert!(masked.text().await.unwrap().contains("**********"));
        std::fs::write(shots.join(format!("{backend}-elder-record.png")), c.screenshot().await.unwrap()).unwrap();
        c.find(Locator::Id("reveal-id")).await.unwrap().click().await.unwrap();
        let revealed = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("revealed")).await.unwrap();
        assert!(revealed.text().await.unwrap().chars().filter(|ch| ch.is_ascii_digit()).count() >= 17);

        c.find(Locator::Css("#assessment-table tbody tr a")).await.unwrap().click().await.unwrap();
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("main h1")).await.unwrap();
        let report_url = c.current_url().await.unwrap().as_str().to_string() + "/report";
        c.goto(&report_url).await.unwrap();
        let body = c.find(Locator::Css("body")).await.unwrap().text().await.unwrap();
        assert!(body.contains("最终等级") || body.contains("能力等级"), "{body}");
        assert!(body.contains("签名"), "the printable report has signature blanks");
        std::fs::write(shots.join(format!("{backend}-assessment-report.png")), c.screenshot().await.unwrap()).unwrap();

        c.goto(&app.url("/assessments/due")).await.unwrap();
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("main h1")).await.unwrap();
        std::fs::write(shots.join(format!("{backend}-assessments-due.png")), c.screenshot().await.unwrap()).unwrap();
        c.close().await.unwrap();
    }
}

browser_test! {
    async fn a_family_member_answers_the_public_self_check_on_a_phone_one_question_at_a_time(app: TestApp) {
        let backend = app.db.db.backend().as_str();
        let driver = start_driver();
        let c = browser(&driver, 390, 844).await;
        c.goto(&app.url("/apply")).await.unwrap();
        // Each page asks one thing; "下一步" submits it. The region is chosen in three steps.
        for pick in ["雨湖区", "雨湖路街道", "雨湖路社区居委会"] {
            // Wait for the page that offers this choice (the old page lingers after a click).
            let xpath = format!("//select[@id='answer']/option[normalize-space(.)='{pick}']");
            c.wait().at_most(Duration::from_secs(10)).for_element(Locator::XPath(&xpath)).await
                .unwrap_or_else(|e| panic!("{pick}: {e}"))
                .click().await.unwrap();
            click_when_ready(&c, "#next").await;
        }
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("age")).await.unwrap()
            .send_keys("83").await.unwrap();
        click_when_ready(&c, "#next").await;
        // Categories: none ticked.
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("input[name=cat]")).await.unwrap();
        click_when_ready(&c, "#next").await;
        for (name, value) in [("ability", "none"), ("living", "独居"), ("children_local", "no"), ("children_can_care", "no")] {
            click_when_ready(&c, &format!("input[name={name}][value='{value}']")).await;
            click_when_ready(&c, "#next").await;
        }
        let results = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("results")).await.unwrap();
        let text = results.text().await.unwrap();
        assert!(text.contains("老年助餐") && text.contains("符合条件：是高龄老人。"), "{text}");
        // Large print by default on these pages, and nothing wider than the phone.
        assert!(body_font_px(&c).await >= 16.0);
        let wide = c.execute("return document.documentElement.scrollWidth <= window.innerWidth + 1;", vec![]).await.unwrap();
        assert_eq!(wide, serde_json::Value::Bool(true), "no horizontal scrolling on a phone");
        let png = c.screenshot().await.unwrap();
        std::fs::write(screenshot_dir().join(format!("{backend}-public-self-check-phone.png")), png).unwrap();
        c.close().await.unwrap();
    }
}

browser_test! {
    async fn a_caregiver_checks_in_has_the_visit_confirmed_and_checks_out_on_a_phone(app: TestApp) {
        let backend = app.db.db.backend().as_str();
        // The visit an hour from now must fall within the caregiver's working day.
        app.morning();
        let (_, code) = crate::visits::setup(&app).await;
        let driver = start_driver();
        let c = browser(&driver, 390, 844).await;
        c.goto(&app.url("/login")).await.unwrap();
        sign_in_as_carer(&c).await;
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("role-label")).await.unwrap();
        // The phone's nav leads to today's visits.
        c.find(Locator::LinkText("今日服务")).await.unwrap().click().await.unwrap();
        wait_for_url(&c, "/my/visits").await;
        let state = c.find(Locator::Css(".visit-state")).await.unwrap().text().await.unwrap();
        assert_eq!(state, "未开始");
        // The phone is at the person's door (the browser's position, as the phone would give it).
        phone_at_door(&app, &c).await;
        c.find(Locator::Css("button.check-in")).await.unwrap().click().await.unwrap();
        wait_for_url(&c, "notice=checked_in").await;
        assert!(c.find(Locator::Id("notice")).await.is_ok(), "a notice follows the check-in");
        assert_eq!(state_becomes(&c, "服务中").await, "服务中");
        let png = c.screenshot().await.unwrap();
        std::fs::write(screenshot_dir().join(format!("{backend}-caregiver-checked-in.png")), png).unwrap();
        // Ten minutes in, a check-out by mistake: the page warns that the item needs longer
        // and records nothing until the caregiver confirms.
        app.clock.advance(chrono::Duration::minutes(10));
        phone_at_door(&app, &c).await;
        c.find(Locator::Css("input[name=code]")).await.unwrap().send_keys(&code).await.unwrap();
        c.find(Locator::Css("button.check-out")).await.unwrap().click().await.unwrap();
        let warning = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(".short-warning")).await.unwrap();
        let text = warning.text().await.unwrap();
        assert!(text.contains("才 10 分钟") && text.contains("至少 30 分钟") && text.contains("确认提前结束"), "{text}");
        assert_eq!(visit_state(&c).await, "服务中", "nothing recorded");
        std::fs::write(screenshot_dir().join(format!("{backend}-caregiver-short-warning.png")), c.screenshot().await.unwrap()).unwrap();
        // Fifty minutes at the person's home; the page keeps the session alive meanwhile (its
        // script asks every ten minutes; here, one reload half-way).
        app.clock.advance(chrono::Duration::minutes(15));
        c.refresh().await.unwrap();
        app.clock.advance(chrono::Duration::minutes(25));
        // The phone's clock agrees with the server's (which the test moved on 50 minutes).
        phone_at_door(&app, &c).await;
        // A mistyped code is asked again, saying how many tries are left.
        let wrong = if code.ends_with('9') { format!("{}0", &code[..5]) } else { format!("{}9", &code[..5]) };
        c.find(Locator::Css("input[name=code]")).await.unwrap().send_keys(&wrong).await.unwrap();
        c.find(Locator::Css("button.check-out")).await.unwrap().click().await.unwrap();
        let error = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("p[id^=code-error]")).await.unwrap();
        let text = error.text().await.unwrap();
        assert!(text.contains("确认码不对") && text.contains("还可以再试 2 次"), "{text}");
        assert_eq!(visit_state(&c).await, "服务中", "nothing recorded");
        std::fs::write(screenshot_dir().join(format!("{backend}-caregiver-code-retry.png")), c.screenshot().await.unwrap()).unwrap();
        phone_at_door(&app, &c).await;
        c.find(Locator::Css("input[name=code]")).await.unwrap().send_keys(&code).await.unwrap();
        c.find(Locator::Css("button.check-out")).await.unwrap().click().await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let url = c.current_url().await.unwrap();
        let main = c.find(Locator::Id("main")).await.unwrap().text().await.unwrap();
        assert!(url.as_str().contains("notice=checked_out"), "{url}: {main}");
        let reasons = c.find_all(Locator::Css(".reasons li")).await.unwrap();
        let mut why = Vec::new();
        for r in reasons {
            why.push(r.text().await.unwrap());
        }
        assert!(why.is_empty(), "no findings: {why:?}");
        let text = c.find(Locator::Css(".visit-state")).await.unwrap().text().await.unwrap();
        assert_eq!(text, "已完成，核验通过");
        // The person's stars are large enough for an older finger.
        let heights = c.execute(
            "return Array.from(document.querySelectorAll('.rating-form .star')).map(function (e) { var r = e.getBoundingClientRect(); return Math.min(r.width, r.height); });",
            vec![],
        ).await.unwrap();
        let heights: Vec<f64> = heights.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(heights.len(), 5, "five stars");
        assert!(heights.iter().all(|h| *h >= 44.0), "44 px touch targets: {heights:?}");
        let overflow = c.execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;", vec![],
        ).await.unwrap().as_f64().unwrap();
        assert!(overflow <= 1.0, "no sideways scrolling on a phone ({overflow}px)");
        let png = c.screenshot().await.unwrap();
        std::fs::write(screenshot_dir().join(format!("{backend}-caregiver-checked-out.png")), png).unwrap();
        c.close().await.unwrap();
    }
}

/// Chromedriver's network switch (`/chromium/network_conditions`): `offline` cuts the page
/// off the network as a phone in a lift would be.
#[derive(Debug)]
struct Network {
    offline: bool,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Network {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/chromium/network_conditions",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        let body = json!({ "network_conditions": {
            "offline": self.offline, "latency": 0, "download_throughput": -1, "upload_throughput": -1,
        }});
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

/// Fills in and sends the sign-in form on the page (once it has loaded) as the test caregiver.
async fn sign_in_as_carer(c: &Client) {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys("carer_a")
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(crate::common::PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Makes the page's position the person's door and its clock the server's.
async fn phone_at_door(app: &TestApp, c: &Client) {
    let (lat, lon) = crate::visits::HOME;
    let ahead = (app.clock_now() - chrono::Utc::now()).num_milliseconds();
    let script = format!(
        "navigator.geolocation.getCurrentPosition = function (ok) {{ ok({{ coords: {{ latitude: {lat}, longitude: {lon} }} }}); }};
         if (!window.RealDate) {{ window.RealDate = Date; }}
         const Real = window.RealDate;
         Date = class extends Real {{ constructor(...a) {{ if (a.length === 0) {{ super(Real.now() + {ahead}); }} else {{ super(...a); }} }} }};"
    );
    c.execute(&script, vec![]).await.unwrap();
}

/// The visit of `order` the server has, if any.
async fn visit_of(app: &TestApp, order: uuid::Uuid) -> Option<uuid::Uuid> {
    let mut c = app.state.db.acquire().await.unwrap();
    let filter = jinglao_db::orders::ListFilter {
        provider_id: Some(app.provider_id),
        ..Default::default()
    };
    let listed = jinglao_db::orders::list(&mut c.conn(), &jinglao_domain::Scope::All, &filter, 100)
        .await
        .unwrap();
    listed
        .into_iter()
        .find(|o| o.id == order)
        .and_then(|o| o.visit_id)
}

/// The card's state once it starts with `prefix` (the page may be reloading meanwhile), or
/// whatever it says after ten seconds.
async fn state_becomes(c: &Client, prefix: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css(".visit-state")).await
            && let Ok(text) = e.text().await
        {
            if text.starts_with(prefix) {
                return text;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

async fn visit_state(c: &Client) -> String {
    c.find(Locator::Css(".visit-state"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

browser_test! {
    async fn a_caregiver_without_a_connection_checks_in_and_out_and_the_phone_sends_both_when_it_is_back(app: TestApp) {
        let backend = app.db.db.backend().as_str();
        // The round below lasts almost five hours; start it in the morning so that it ends on
        // the same day, whenever the test runs.
        app.morning();
        let (order, code) = crate::visits::setup(&app).await;
        let driver = start_driver();
        let c = browser(&driver, 390, 844).await;
        c.goto(&app.url("/login")).await.unwrap();
        sign_in_as_carer(&c).await;
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("role-label")).await.unwrap();
        c.goto(&app.url("/my/visits")).await.unwrap();
        // The caregiver's page passes the accessibility check.
        if let Some(v) = axe_violations(&c).await {
            assert!(v.is_empty(), "/my/visits: {v:#?}");
        }
        // The page's service worker is installed; the next load is kept for offline use.
        let ready = c.execute_async(
            "var done = arguments[0]; navigator.serviceWorker.ready.then(function () { done('ready'); });",
            vec![],
        ).await.unwrap();
        assert_eq!(ready, json!("ready"), "the service worker starts");
        c.refresh().await.unwrap();
        let kept = c.execute_async(
            "var done = arguments[0]; caches.open('jinglao-my-v1').then(function (k) { return k.match('/my/visits'); }).then(function (r) { done(!!r); });",
            vec![],
        ).await.unwrap();
        assert_eq!(kept, json!(true), "the page is kept for offline use");

        // In the lift: no connection. Check in at the door.
        c.issue_cmd(Network { offline: true }).await.unwrap();
        phone_at_door(&app, &c).await;
        c.find(Locator::Css("button.check-in")).await.unwrap().click().await.unwrap();
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("button.check-out")).await
            .expect("the check-out form appears after an offline check-in");
        assert_eq!(visit_state(&c).await, "服务中（离线记录，待上传）");
        let status = c.find(Locator::Id("offline-status")).await.unwrap().text().await.unwrap();
        assert!(status.contains("1 条"), "{status}");
        assert_eq!(visit_of(&app, order).await, None, "nothing reached the server");

        // The page opens again without a connection, with the kept check-in on it.
        c.refresh().await.unwrap();
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("button.check-out")).await
            .expect("the kept page opens offline with the kept check-in applied");
        assert_eq!(visit_state(&c).await, "服务中（离线记录，待上传）");

        // Forty minutes later, still offline: the person reads the code, check out.
        app.clock.advance(chrono::Duration::minutes(40));
        phone_at_door(&app, &c).await;
        c.find(Locator::Css("input[name=code]")).await.unwrap().send_keys(&code).await.unwrap();
        c.find(Locator::Css("button.check-out")).await.unwrap().click().await.unwrap();
        assert_eq!(state_becomes(&c, "已签退").await, "已签退（离线记录，待上传）");
        let png = c.screenshot().await.unwrap();
        std::fs::write(screenshot_dir().join(format!("{backend}-caregiver-offline.png")), png).unwrap();

        // Back in signal four hours later (a round of rural visits). That outlasts even a
        // caregiver's idle time-out: the page keeps both records and asks to sign in again.
        app.clock.advance(chrono::Duration::hours(4));
        c.issue_cmd(Network { offline: false }).await.unwrap();
        c.execute("window.dispatchEvent(new Event('online'));", vec![]).await.unwrap();
        let again = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("sign-in-again")).await
            .expect("the page asks to sign in again");
        again.click().await.unwrap();
        sign_in_as_carer(&c).await;
        // Back on the page, both records go up, and the page shows the server's view: flagged
        // for review as offline records, never silently accepted.
        wait_for_url(&c, "/my/visits").await;
        assert_eq!(state_becomes(&c, "已完成").await, "已完成，待人工核查");
        let reasons = c.find(Locator::Css(".reasons")).await.unwrap().text().await.unwrap();
        assert!(reasons.contains("签到为离线记录") && reasons.contains("签退为离线记录"), "{reasons}");
        let visit = visit_of(&app, order).await.expect("the visit reached the server");
        let mut c2 = app.state.db.acquire().await.unwrap();
        let outcome = jinglao_db::visits::outcome(&mut c2.conn(), visit).await.unwrap();
        assert_eq!(outcome.status, "exception");
        let codes: Vec<_> = outcome.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["offline_sync", "offline_sync"], "both stamps were made offline");
        let left = c.execute("return localStorage.getItem('jinglao.pending.v1');", vec![]).await.unwrap();
        assert_eq!(left, json!("[]"), "nothing is left waiting");
        let png = c.screenshot().await.unwrap();
        std::fs::write(screenshot_dir().join(format!("{backend}-caregiver-offline-synced.png")), png).unwrap();
        c.close().await.unwrap();
    }
}

browser_test! {
    async fn a_person_without_a_code_signs_with_a_finger_on_the_caregivers_phone(app: TestApp) {
        let backend = app.db.db.backend().as_str();
        // The visit an hour from now must fall within the caregiver's working day.
        app.morning();
        crate::visits::setup(&app).await;
        let driver = start_driver();
        let c = browser(&driver, 390, 844).await;
        c.goto(&app.url("/login")).await.unwrap();
        sign_in_as_carer(&c).await;
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("role-label")).await.unwrap();
        c.goto(&app.url("/my/visits")).await.unwrap();
        phone_at_door(&app, &c).await;
        c.find(Locator::Css("button.check-in")).await.unwrap().click().await.unwrap();
        wait_for_url(&c, "notice=checked_in").await;
        app.clock.advance(chrono::Duration::minutes(20));
        c.refresh().await.unwrap();
        app.clock.advance(chrono::Duration::minutes(20));
        phone_at_door(&app, &c).await;
        // The pad shows only with the script; a stroke across it, as a finger would draw.
        let pad = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("canvas.signature-pad")).await.unwrap();
        assert!(pad.is_displayed().await.unwrap(), "the signature pad is shown");
        c.execute(
            "const pad = document.querySelector('canvas.signature-pad');
             const r = pad.getBoundingClientRect();
             const at = (type, x, y) => pad.dispatchEvent(new PointerEvent(type, { bubbles: true, cancelable: true, pointerId: 1, clientX: r.left + x * r.width, clientY: r.top + y * r.height }));
             at('pointerdown', 0.1, 0.6);
             for (let i = 1; i <= 20; i++) { at('pointermove', 0.1 + i * 0.04, 0.6 - Math.sin(i / 3) * 0.3); }
             at('pointerup', 0.9, 0.5);",
            vec![],
        ).await.unwrap();
        let png = c.screenshot().await.unwrap();
        std::fs::write(screenshot_dir().join(format!("{backend}-caregiver-signature.png")), png).unwrap();
        c.find(Locator::Css("button.check-out")).await.unwrap().click().await.unwrap();
        wait_for_url(&c, "notice=checked_out").await;
        let state = state_becomes(&c, "已完成").await;
        let reasons = match c.find(Locator::Css(".reasons")).await {
            Ok(e) => e.text().await.unwrap(),
            Err(_) => String::new(),
        };
        // A signature without the code goes to a reviewer (visit.signature_only = review).
        assert_eq!(state, "已完成，待人工核查", "{reasons}");
        assert!(reasons.contains("只有签名"), "{reasons}");
        c.close().await.unwrap();
    }
}

/// The elements that reach past the window's right edge (for the message of a failed
/// [`fits_width`]).
async fn too_wide(c: &Client) -> serde_json::Value {
    c.execute(
        "return [...document.querySelectorAll('body *')]\
           .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)\
           .slice(0, 8).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));",
        vec![],
    )
    .await
    .unwrap()
}

/// Whether the page is no wider than the window (nothing scrolls sideways).
async fn fits_width(c: &Client) -> bool {
    c.execute(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
        vec![],
    )
    .await
    .unwrap()
        == serde_json::Value::Bool(true)
}

/// The serious and critical accessibility violations axe-core finds on the page, or `None`
/// when axe-core is not installed (`npm ci --prefix tools/a11y`; CI installs it and sets
/// `JINGLAO_REQUIRE_AXE=1`, which turns its absence into a failure).
async fn axe_violations(c: &Client) -> Option<Vec<String>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tools/a11y/node_modules/axe-core/axe.min.js");
    let Ok(source) = std::fs::read_to_string(&path) else {
        assert!(
            std::env::var("JINGLAO_REQUIRE_AXE").is_err(),
            "axe-core is missing: npm ci --prefix tools/a11y"
        );
        eprintln!(
            "skipped the accessibility check: axe-core is not installed (npm ci --prefix tools/a11y)"
        );
        return None;
    };
    c.execute(&source, vec![]).await.unwrap();
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             axe.run(document, { resultTypes: ['violations'] }).then(r => done(\
               r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')\
                 .map(v => v.id + '（' + v.help + '）: ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))));",
            vec![],
        )
        .await
        .unwrap();
    Some(
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect(),
    )
}

/// Signs in through the form as `username`, waiting for the work page.
async fn sign_in_with(c: &Client, app: &TestApp, username: &str, password: &str) {
    c.goto(&app.url("/login")).await.unwrap();
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(username)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    c.find(Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("role-label"))
        .await
        .unwrap_or_else(|_| panic!("{username} reaches the work page"));
}

browser_test! {
    async fn the_public_pages_fit_a_phone_and_pass_the_accessibility_check(app: TestApp) {
        let backend = app.db.db.backend().as_str();
        let driver = start_driver();
        let c = browser(&driver, 390, 844).await;
        let shots = screenshot_dir();
        c.goto(&app.url("/")).await.unwrap();
        let doors = c.find_all(Locator::Css("#doors .door-title")).await.unwrap();
        assert_eq!(doors.len(), 8, "eight big buttons");
        assert_eq!(doors[0].text().await.unwrap(), "查一查能享受什么");
        let hotline = c.find(Locator::Id("hotline")).await.unwrap();
        assert_eq!(hotline.attr("href").await.unwrap().as_deref(), Some("tel:12345"));
        std::fs::write(shots.join(format!("{backend}-front-phone.png")), c.screenshot().await.unwrap()).unwrap();
        for path in ["/", "/apply", "/apply/status", "/institutions", "/services", "/notices", "/login"] {
            c.goto(&app.url(path)).await.unwrap();
            assert!(fits_width(&c).await, "{path} scrolls sideways at 390 px: {:?}", too_wide(&c).await);
            if let Some(v) = axe_violations(&c).await {
                assert!(v.is_empty(), "{path}: {v:#?}");
            }
        }
        // The first question of the self-check preselects nothing and says so when skipped.
        c.goto(&app.url("/apply")).await.unwrap();
        let selected = c.execute("return document.getElementById('answer').value;", vec![]).await.unwrap();
        assert_eq!(selected, serde_json::Value::String(String::new()), "no district chosen for the family");
        c.find(Locator::Id("next")).await.unwrap().click().await.unwrap();
        let error = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("answer-error")).await.unwrap();
        assert!(error.text().await.unwrap().contains("请选择一项"));
        c.close().await.unwrap();
    }
}

browser_test! {
    async fn each_staff_role_s_work_page_and_the_most_used_pages_fit_a_phone_in_both_print_sizes(app: TestApp) {
        let backend = app.db.db.backend().as_str();
        jinglao_fixtures::demo::seed_population(&app.state.db, &app.state.keys, 300, 7, |_| {}).await.unwrap();
        let driver = start_driver();
        let c = browser(&driver, 390, 844).await;
        let shots = screenshot_dir();
        let pw = |role: jinglao_domain::Role| {
            app.demo.iter().find(|a| a.role == role).unwrap().password.clone().unwrap()
        };
        // Each staff role's work page: its to-do first, and nothing wider than the phone.
        for account in app.demo.iter().filter(|a| a.role != jinglao_domain::Role::Caregiver) {
            let Some(password) = account.password.clone() else { continue };
            sign_in_with(&c, &app, &account.username, &password).await;
            assert!(fits_width(&c).await, "{}'s work page scrolls sideways: {:?}", account.username, too_wide(&c).await);
            let tiles = c.find_all(Locator::Css("#todo .tile")).await.unwrap();
            let expects_work = !matches!(account.role, jinglao_domain::Role::Admin | jinglao_domain::Role::Auditor);
            assert_eq!(!tiles.is_empty(), expects_work, "{} to-do", account.username);
            std::fs::write(shots.join(format!("{backend}-work-{}-phone.png", account.username)), c.screenshot().await.unwrap()).unwrap();
            c.find(Locator::Id("logout")).await.unwrap().click().await.unwrap();
            c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("login-submit")).await.unwrap();
        }

        // The ten pages county and township staff use most, in normal and large print.
        sign_in_with(&c, &app, "demo_county_staff", &pw(jinglao_domain::Role::CountyStaff)).await;
        let pages = ["/home", "/elders", "/applications", "/eligibility", "/assessments/due", "/orders",
                     "/patrols", "/visits/exceptions", "/facilities", "/service-lists"];
        for large in [false, true] {
            if large {
                c.find(Locator::Id("large-print-toggle")).await.unwrap().click().await.unwrap();
                c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("html.large-print")).await.unwrap();
            }
            for path in pages {
                c.goto(&app.url(path)).await.unwrap();
                assert!(fits_width(&c).await, "{path} scrolls sideways at 390 px (large print: {large}): {:?}", too_wide(&c).await);
            }
        }
        c.goto(&app.url("/elders")).await.unwrap();
        std::fs::write(shots.join(format!("{backend}-elders-phone-large-print.png")), c.screenshot().await.unwrap()).unwrap();
        c.close().await.unwrap();
    }
}

browser_test! {
    async fn a_clerk_picks_a_village_level_by_level_and_the_form_still_works_without_javascript(app: TestApp) {
        let backend = app.db.db.backend().as_str();
        app.create_user("picker_county", jinglao_domain::Role::CountyStaff, "430302").await;
        let driver = start_driver();
        let c = browser(&driver, 1024, 900).await;
        sign_in_with(&c, &app, "picker_county", crate::common::PASSWORD).await;
        c.goto(&app.url("/elders/new")).await.unwrap();
        // The script has replaced the typed code with one select per level, starting at the
        // clerk's own county: no other county is offered.
        let first = c.wait().at_most(Duration::from_secs(10))
            .for_element(Locator::Id("residence_region_code-cascade")).await.unwrap();
        let counties: Vec<String> = {
            let mut out = Vec::new();
            for o in first.find_all(Locator::Css("option")).await.unwrap() {
                out.push(o.text().await.unwrap());
            }
            out
        };
        assert_eq!(counties, ["请选择", "雨湖区"], "only the clerk's county");
        first.select_by_label("雨湖区").await.unwrap();
        let second = c.wait().at_most(Duration::from_secs(5))
            .for_element(Locator::Css("#residence_region_code-levels select[data-depth='1']")).await.unwrap();
        let townships = second.find_all(Locator::Css("option")).await.unwrap();
        assert!(townships.len() >= 2, "the county's townships");
        second.select_by_index(1).await.unwrap();
        let third = c.wait().at_most(Duration::from_secs(5))
            .for_element(Locator::Css("#residence_region_code-levels select[data-depth='2']")).await.unwrap();
        // A township alone is not a place of residence: the field stays empty until a village.
        let value = c.execute("return document.getElementById('residence_region_code').value;", vec![]).await.unwrap();
        assert_eq!(value, serde_json::Value::String(String::new()));
        third.select_by_index(1).await.unwrap();
        let value = c.execute("return document.getElementById('residence_region_code').value;", vec![]).await.unwrap();
        let code = value.as_str().unwrap().to_string();
        assert!(code.len() == 12 && code.starts_with("430302"), "a village of the county: {code}");
        std::fs::write(screenshot_dir().join(format!("{backend}-region-picker.png")), c.screenshot().await.unwrap()).unwrap();
        // Without the script, the same field is one select of the county, indented by level,
        // townships shown but not choosable.
        let http = app.login("picker_county").await;
        let page = app.get(&http, "/elders/new").await;
        assert!(page.text.contains("data-region-picker"), "a select, not a typed code");
        assert!(!page.text.contains("居住地区划代码"));
        let doc = &page.html;
        let sel = scraper::Selector::parse("#residence_region_code option").unwrap();
        let opts: Vec<_> = doc.select(&sel).collect();
        assert!(opts.len() > 50);
        assert!(opts.iter().all(|o| o.value().attr("value").unwrap().is_empty() || o.value().attr("value").unwrap().starts_with("430302")));
        let township = opts.iter().find(|o| o.value().attr("value").unwrap().len() == 9).unwrap();
        assert!(township.value().attr("disabled").is_some());
        c.close().await.unwrap();
    }
}

browser_test! {
    async fn a_fresh_demo_has_something_on_every_journey_the_readme_describes(app: TestApp) {
        let backend = app.db.db.backend().as_str();
        let (db, keys) = (&app.state.db, &app.state.keys);
        jinglao_fixtures::demo::seed_population(db, keys, 2000, 7, |_| {}).await.unwrap();
        let now = app.clock_now();
        jinglao_fixtures::demo_purchase::seed_purchase(db, keys, now).await.unwrap();
        jinglao_fixtures::demo::seed_home_services(db, keys, now).await.unwrap();
        jinglao_fixtures::demo::seed_patrols(db, keys, now).await.unwrap();
        let history = jinglao_fixtures::demo_history::seed_last_month(db, keys, now).await.unwrap();
        assert!(history.visits >= 100, "{history:?}");
        assert!(history.exceptions * 20 >= history.visits && history.exceptions * 5 <= history.visits, "a realistic share: {history:?}");
        assert!(history.statements >= 1, "{history:?}");
        // A second start leaves the month alone.
        let again = jinglao_fixtures::demo_history::seed_last_month(db, keys, now).await.unwrap();
        assert_eq!(again.visits, 0);

        let driver = start_driver();
        let c = browser(&driver, 1024, 900).await;
        let shots = screenshot_dir();
        let pw = |role: jinglao_domain::Role| {
            app.demo.iter().find(|a| a.role == role).unwrap().password.clone().unwrap()
        };
        let user = |role: jinglao_domain::Role| jinglao_fixtures::demo::demo_username(role);
        use jinglao_domain::Role;
        // The township worker: visits to review.
        sign_in_with(&c, &app, &user(Role::TownshipStaff), &pw(Role::TownshipStaff)).await;
        c.goto(&app.url("/visits/exceptions")).await.unwrap();
        let queue = c.find_all(Locator::Css("#queue > li")).await.unwrap();
        assert!(!queue.is_empty(), "the township's exception queue");
        std::fs::write(shots.join(format!("{backend}-demo-exceptions.png")), c.screenshot().await.unwrap()).unwrap();
        c.find(Locator::Id("logout")).await.unwrap().click().await.unwrap();
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("login-submit")).await.unwrap();
        // The inspector: last month's signals, with the shared point among them.
        sign_in_with(&c, &app, &user(Role::Inspector), &pw(Role::Inspector)).await;
        c.goto(&app.url("/visits/signals")).await.unwrap();
        let signals = c.find_all(Locator::Css(".signal")).await.unwrap();
        assert!(!signals.is_empty(), "the inspectors' signals");
        let text = c.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
        assert!(text.contains("刘敏"), "the caregiver who stamped from one spot is named");
        std::fs::write(shots.join(format!("{backend}-demo-signals.png")), c.screenshot().await.unwrap()).unwrap();
        c.find(Locator::Id("logout")).await.unwrap().click().await.unwrap();
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("login-submit")).await.unwrap();
        // Finance: statements to settle.
        sign_in_with(&c, &app, &user(Role::Finance), &pw(Role::Finance)).await;
        c.goto(&app.url("/statements")).await.unwrap();
        let rows = c.find_all(Locator::Css("#statements tbody tr")).await.unwrap();
        assert!(!rows.is_empty(), "the finance statements");
        std::fs::write(shots.join(format!("{backend}-demo-statements.png")), c.screenshot().await.unwrap()).unwrap();
        // A draft statement prints for sealing, marked as not yet in force.
        rows[0].find(Locator::Css("a")).await.unwrap().click().await.unwrap();
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("print-statement")).await.unwrap().click().await.unwrap();
        let mark = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("watermark")).await.unwrap();
        assert_eq!(mark.text().await.unwrap(), "未生效");
        assert_eq!(c.find_all(Locator::Css(".seal-area")).await.unwrap().len(), 2, "the provider's and the bureau's seal");
        assert!(!c.find_all(Locator::Css("#statement-lines tbody tr")).await.unwrap().is_empty());
        std::fs::write(shots.join(format!("{backend}-demo-statement-print.png")), c.screenshot().await.unwrap()).unwrap();
        c.goto(&app.url("/statements")).await.unwrap();
        c.find(Locator::Id("logout")).await.unwrap().click().await.unwrap();
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("login-submit")).await.unwrap();
        // The county: the provider doing government-paid visits is qualified.
        sign_in_with(&c, &app, &user(Role::CountyStaff), &pw(Role::CountyStaff)).await;
        c.goto(&app.url("/providers")).await.unwrap();
        let green = c.find_all(Locator::Css(".tag-green")).await.unwrap();
        assert!(!green.is_empty(), "a qualified provider");
        c.find(Locator::Id("logout")).await.unwrap().click().await.unwrap();
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("login-submit")).await.unwrap();
        // The caregiver: today's round.
        sign_in_with(&c, &app, &user(Role::Caregiver), &pw(Role::Caregiver)).await;
        c.goto(&app.url("/my/visits")).await.unwrap();
        assert!(!c.find_all(Locator::Css(".visit-state")).await.unwrap().is_empty(), "today's visits");
        c.close().await.unwrap();
    }
}

browser_test! {
    async fn a_county_clerk_builds_a_target_group_from_lists_and_sees_who_qualifies_before_publishing(app: TestApp) {
        let backend = app.db.db.backend().as_str();
        jinglao_fixtures::demo::seed_population(&app.state.db, &app.state.keys, 600, 7, |_| {}).await.unwrap();
        app.create_user("builder_county", jinglao_domain::Role::CountyStaff, "430302").await;
        let driver = start_driver();
        let c = browser(&driver, 1024, 900).await;
        sign_in_with(&c, &app, "builder_county", crate::common::PASSWORD).await;
        c.goto(&app.url("/service-lists/new?region=430302")).await.unwrap();
        // The builder is folded under the first item's rule; open it and pick from the lists.
        c.find(Locator::Css("#builder-0 summary")).await.unwrap().click().await.unwrap();
        c.find(Locator::Id("items[0].builder[0].fact")).await.unwrap().select_by_label("特殊类别").await.unwrap();
        c.find(Locator::Id("items[0].builder[0].op")).await.unwrap().select_by_label("是（有）").await.unwrap();
        c.find(Locator::Id("items[0].builder[0].value")).await.unwrap().select_by_value("高龄").await.unwrap();
        c.find(Locator::Id("items[0].builder[1].fact")).await.unwrap().select_by_label("子女在本地").await.unwrap();
        c.find(Locator::Id("items[0].builder[1].op")).await.unwrap().select_by_label("不是（没有）").await.unwrap();
        c.find(Locator::Id("preview-0")).await.unwrap().click().await.unwrap();
        let result = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("preview-result-0")).await.unwrap();
        let text = result.text().await.unwrap();
        assert!(text.contains("尚未发布") && text.contains("高龄"), "{text}");
        let count: usize = c.find(Locator::Id("preview-count-0")).await.unwrap().text().await.unwrap().parse().unwrap();
        let named = c.find_all(Locator::Css("#preview-sample-0 li")).await.unwrap();
        assert_eq!(named.len(), count.min(10), "a sample of who qualifies");
        // The text box holds the same rule for power users, and reads the same in words.
        let rule = c.find(Locator::Id("items[0].target_rule")).await.unwrap().prop("value").await.unwrap().unwrap();
        assert_eq!(rule, "\"高龄\" in categories and not children_local");
        let plain = c.find(Locator::Id("plain-0")).await.unwrap().text().await.unwrap();
        let said = text.lines().find(|l| l.starts_with("服务对象：")).unwrap().trim_start_matches("服务对象：").to_string();
        assert!(plain.ends_with(&said), "the same sentence: {plain} / {said}");
        c.execute("document.getElementById('builder-0').scrollIntoView();", vec![]).await.unwrap();
        std::fs::write(screenshot_dir().join(format!("{backend}-rule-builder.png")), c.screenshot().await.unwrap()).unwrap();
        c.close().await.unwrap();
    }
}

browser_test! {
    async fn an_import_row_whose_id_number_belongs_to_someone_else_is_refused_with_the_reason(app: TestApp) {
        let backend = app.db.db.backend().as_str();
        app.create_user("import_county", jinglao_domain::Role::CountyStaff, "430302").await;
        let http = app.login("import_county").await;
        // 王秀英 is registered.
        let (status, text) = crate::registry::import(&app, &http, crate::registry::file(&[crate::registry::row(1, "王秀英", "")]), "all").await;
        assert!(status.is_success() || status == reqwest::StatusCode::SEE_OTHER, "{status}: {text}");
        // A file gives her ID number to 李桂兰, next to a new person.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("老人名单.csv");
        std::fs::write(&path, crate::registry::file(&[crate::registry::row(1, "李桂兰", ""), crate::registry::row(2, "赵淑珍", "")])).unwrap();
        let driver = start_driver();
        let c = browser(&driver, 1024, 900).await;
        sign_in_with(&c, &app, "import_county", crate::common::PASSWORD).await;
        c.goto(&app.url("/elders/import")).await.unwrap();
        c.find(Locator::Id("file")).await.unwrap().send_keys(path.to_str().unwrap()).await.unwrap();
        c.find(Locator::Id("upload")).await.unwrap().click().await.unwrap();
        let problems = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("problems")).await.unwrap();
        let text = problems.text().await.unwrap();
        assert!(text.contains("已登记为“王秀英”") && text.contains("与本行姓名不一致"), "{text}");
        assert_eq!(c.find(Locator::Id("stat-rejected")).await.unwrap().text().await.unwrap(), "1");
        assert_eq!(c.find(Locator::Id("stat-new")).await.unwrap().text().await.unwrap(), "1");
        assert!(c.find(Locator::Id("commit-all")).await.is_err(), "importing everything is not offered");
        std::fs::write(screenshot_dir().join(format!("{backend}-import-name-mismatch.png")), c.screenshot().await.unwrap()).unwrap();
        c.close().await.unwrap();
    }
}

browser_test! {
    async fn a_finance_officer_approves_a_plan_project_and_pays_a_month_through_a_treasury_batch(app: TestApp) {
        let backend = app.db.db.backend().as_str();
        let shots = screenshot_dir();
        crate::purchase_pages::seed_demo_year(&app).await;
        let statements = crate::purchase_pages::approve_last_month(&app).await;
        app.create_user("fin_browser", jinglao_domain::Role::Finance, "4303").await;
        let driver = start_driver();
        let c = browser(&driver, 1280, 1000).await;
        sign_in_with(&c, &app, "fin_browser", crate::common::PASSWORD).await;
        // The plan: the project waiting for finance is first, marked, and reached from the menu.
        click_when_ready(&c, "nav a[href='/purchase/projects']").await;
        let first = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#projects tbody tr")).await.unwrap();
        assert!(first.text().await.unwrap().contains("待您办理"));
        click_when_ready(&c, "#projects tbody tr a").await;
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("approve")).await.unwrap();
        if let Some(v) = axe_violations(&c).await {
            assert!(v.is_empty(), "project page: {v:#?}");
        }
        std::fs::write(shots.join(format!("{backend}-finance-project-review.png")), c.screenshot().await.unwrap()).unwrap();
        click_when_ready(&c, "#approve").await;
        wait_for_url(&c, "notice=project_stepped").await;
        let status = c.find(Locator::Id("project-status")).await.unwrap().text().await.unwrap();
        assert!(status.contains("财政已批复"), "{status}");
        // The payment: tick every approved statement, make the batch.
        click_when_ready(&c, "nav a[href='/payment-batches']").await;
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#payable tbody tr")).await.unwrap();
        for b in c.find_all(Locator::Css("#payable input[name=statement]")).await.unwrap() {
            b.click().await.unwrap();
        }
        if let Some(v) = axe_violations(&c).await {
            assert!(v.is_empty(), "payment page: {v:#?}");
        }
        std::fs::write(shots.join(format!("{backend}-finance-payable.png")), c.screenshot().await.unwrap()).unwrap();
        click_when_ready(&c, "#make-batch").await;
        wait_for_url(&c, "notice=batch_created").await;
        let batch_url = c.current_url().await.unwrap();
        let batch_path = batch_url.path().to_string();
        assert_eq!(c.find(Locator::Id("batch-status")).await.unwrap().text().await.unwrap(), "等待国库确认");
        // The treasury's answer comes back as the batch file, filled in.
        let http = app.login("fin_browser").await;
        let text = http.get(app.url(&format!("{batch_path}.csv"))).send().await.unwrap().text().await.unwrap();
        let today = jinglao_domain::clock::china_date(app.clock_now()).to_string();
        let filled: Vec<String> = text.trim_start_matches('\u{feff}').lines().enumerate().map(|(i, l)| {
            if i == 0 { return l.to_string(); }
            let mut cells: Vec<String> = l.split(',').map(str::to_string).collect();
            cells[10] = "成功".into();
            cells[11] = format!("GK-{i:05}");
            cells[12] = today.clone();
            cells.join(",")
        }).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("国库支付结果.csv");
        std::fs::write(&path, filled.join("\n")).unwrap();
        c.find(Locator::Id("file")).await.unwrap().send_keys(path.to_str().unwrap()).await.unwrap();
        click_when_ready(&c, "#upload").await;
        wait_for_url(&c, "paid=").await;
        let result = c.find(Locator::Id("import-result")).await.unwrap().text().await.unwrap();
        assert!(result.contains(&format!("{} 张结算单已全部支付", statements.len())), "{result}");
        assert_eq!(c.find(Locator::Id("batch-status")).await.unwrap().text().await.unwrap(), "已全部确认");
        if let Some(v) = axe_violations(&c).await {
            assert!(v.is_empty(), "batch page: {v:#?}");
        }
        std::fs::write(shots.join(format!("{backend}-finance-batch-paid.png")), c.screenshot().await.unwrap()).unwrap();
        c.goto(&app.url(&statements[0])).await.unwrap();
        let s = c.find(Locator::Id("statement-status")).await.unwrap().text().await.unwrap();
        assert_eq!(s, "已支付");
        c.close().await.unwrap();
    }
}

browser_test! {
    async fn a_city_clerk_filters_the_registry_pages_through_it_and_exports_exactly_the_filtered_list(app: TestApp) {
        let backend = app.db.db.backend().as_str();
        jinglao_fixtures::demo::seed_population(&app.state.db, &app.state.keys, 1000, 7, |_| {}).await.unwrap();
        app.create_user("city_pager", jinglao_domain::Role::CityStaff, "4303").await;
        let driver = start_driver();
        let c = browser(&driver, 1024, 900).await;
        sign_in_with(&c, &app, "city_pager", crate::common::PASSWORD).await;
        c.goto(&app.url("/elders")).await.unwrap();
        let everyone: usize = c.find(Locator::Css(".pager-total")).await.unwrap().text().await.unwrap().parse().unwrap();
        // Filter: 高龄 (80 and over), from the list, with the search button.
        c.find(Locator::Css("#category option[value='高龄']")).await.unwrap().click().await.unwrap();
        c.find(Locator::Id("search-elders")).await.unwrap().click().await.unwrap();
        wait_for_url(&c, "category=").await;
        let total: usize = c.find(Locator::Css(".pager-total")).await.unwrap().text().await.unwrap().parse().unwrap();
        assert!(total > 50 && total < everyone, "the filter spans pages and narrows the list: {total} of {everyone}");
        let summary = c.find(Locator::Css(".pager-summary")).await.unwrap().text().await.unwrap();
        assert!(summary.contains(&format!("第 1 / {} 页", total.div_ceil(50))), "{summary}");
        let ages = |c: Client| async move {
            let cells = c.find_all(Locator::Css("#elders tbody tr td:nth-child(4)")).await.unwrap();
            let mut out = Vec::new();
            for cell in cells {
                out.push(cell.text().await.unwrap().parse::<i32>().unwrap());
            }
            out
        };
        assert!(ages(c.clone()).await.iter().all(|a| *a >= 80), "page 1 is all 80 and over");
        // Page 2, by its number; the filter stays.
        c.find(Locator::Css(".pager-links a[href*='page=2']")).await.unwrap().click().await.unwrap();
        wait_for_url(&c, "page=2").await;
        assert!(c.current_url().await.unwrap().as_str().contains("category="), "the filter stays on page 2");
        let on_two = ages(c.clone()).await;
        assert!(!on_two.is_empty() && on_two.iter().all(|a| *a >= 80), "{on_two:?}");
        std::fs::write(screenshot_dir().join(format!("{backend}-registry-page-2.png")), c.screenshot().await.unwrap()).unwrap();
        // The export link, fetched as the browser would download it: one row per person counted.
        let href = c.find(Locator::Id("export-elders")).await.unwrap().attr("href").await.unwrap().unwrap();
        assert!(href.contains("category=") && !href.contains("page="), "exports the filter, not the page: {href}");
        let fetched = c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => {
                   const u = new Uint8Array(b); let s = '';
                   for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);
                   done(btoa(s));
                 }).catch(e => done('ERROR ' + e));",
                vec![serde_json::Value::String(href)],
            )
            .await
            .unwrap();
        let encoded = fetched.as_str().unwrap();
        assert!(!encoded.starts_with("ERROR"), "{encoded}");
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
        let table = jinglao_domain::tabular::read_table(&bytes).unwrap();
        assert_eq!(table.rows.len() - 1, total, "the export holds exactly the filtered people");
        assert!(table.rows[1..].iter().all(|r| r[3].parse::<i32>().unwrap() >= 80), "and only them");
        assert!(table.rows[1..].iter().all(|r| r[1].contains('*')), "ID numbers masked");
        assert_eq!(app.audit_count("elder.export").await, 1, "the export is audited");
        c.close().await.unwrap();
    }
}
