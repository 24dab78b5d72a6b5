//! The `jinglao` binary, run as an operator would, against a fresh database on each backend.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use chrono::Utc;
use jinglao_db::testing::{Fixture, TestDb};
use jinglao_db::{Backend, audit, test_on_both};
use jinglao_web::{Keys, Settings};

/// A fresh database, a key file and an empty configuration directory.
struct Env {
    db: TestDb,
    dir: tempfile::TempDir,
    keys: Keys,
}

impl Env {
    async fn new(backend: Backend, migrated: bool) -> Env {
        let db = if migrated {
            TestDb::new(backend).await
        } else {
            TestDb::unmigrated(backend).await
        };
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("test.key");
        jinglao_web::keys::generate_key_file(&key_file).unwrap();
        let keys = Keys::load(&Settings {
            secret_key_file: Some(key_file),
            ..Settings::default()
        })
        .unwrap();
        Env { db, dir, keys }
    }

    fn key_file(&self) -> PathBuf {
        self.dir.path().join("test.key")
    }

    /// Runs `jinglao <args>` with this environment, feeding `stdin`.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_jinglao"));
        cmd.arg("--config-dir")
            .arg(self.dir.path())
            .args(args)
            .env("JINGLAO_DATABASE_URL", &self.db.url)
            .env("JINGLAO_SECRET_KEY_FILE", self.key_file())
            .env(
                "JINGLAO_AUDIT__ANCHOR_FILE",
                self.dir.path().join("audit-anchors.log"),
            )
            .env("JINGLAO_LOG__FILTER", "warn")
            .env_remove("RUST_LOG")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("the binary runs");
        if let Some(input) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    }
}

impl Fixture for Env {
    fn start(backend: Backend) -> impl std::future::Future<Output = Self> + Send {
        Env::new(backend, true)
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

test_on_both! {
    async fn audit_verify_names_the_entry_edited_directly_in_the_database(env: Env) {
        jinglao_fixtures::demo::seed(&env.db.db, &env.keys).await.unwrap();
        let ok = env.run(&["audit", "verify"], None);
        assert!(ok.status.success(), "{}", stderr(&ok));
        assert!(stdout(&ok).contains("审计链自身完整"), "{}", stdout(&ok));

        // Someone with database access rewrites who created an account (entry 5).
        env.db.tamper("UPDATE audit_log SET actor_name = 'nobody' WHERE seq = 5").await;
        let bad = env.run(&["audit", "verify"], None);
        assert_eq!(bad.status.code(), Some(2));
        let out = stdout(&bad);
        assert!(out.contains("第 5 条"), "{out}");
        assert!(out.contains("被修改"), "{out}");
    }
}

test_on_both! {
    async fn audit_verify_notices_a_deleted_entry(env: Env) {
        jinglao_fixtures::demo::seed(&env.db.db, &env.keys).await.unwrap();
        env.db.tamper("DELETE FROM audit_log WHERE seq = 3").await;
        let bad = env.run(&["audit", "verify"], None);
        assert_eq!(bad.status.code(), Some(2));
        assert!(stdout(&bad).contains("第 3 条审计记录缺失"), "{}", stdout(&bad));
    }
}

test_on_both! {
    async fn audit_verify_catches_the_newest_entries_deleted_with_the_head_by_the_anchors(env: Env) {
        jinglao_fixtures::demo::seed(&env.db.db, &env.keys).await.unwrap();
        let anchored = env.run(&["audit", "anchor"], None);
        assert!(anchored.status.success(), "{}", stderr(&anchored));
        let head = stdout(&anchored);
        assert!(head.contains("已写入锚点"), "{head}");
        // Someone with database access deletes the last two entries and moves the head back:
        // the chain alone is consistent again.
        let newest = audit::list(&env.db.db, &jinglao_domain::Scope::All, &audit::AuditFilter::default(), 3)
            .await.unwrap();
        let (last, hash) = (newest[2].seq, newest[2].hash.clone());
        env.db.tamper(&format!("DELETE FROM audit_log WHERE seq > {last}")).await;
        env.db.tamper(&format!("UPDATE audit_head SET seq = {last}, hash = '{hash}' WHERE id = 1")).await;
        let bad = env.run(&["audit", "verify"], None);
        assert_eq!(bad.status.code(), Some(2), "{}", stdout(&bad));
        assert!(stdout(&bad).contains("审计链自身完整"));
        assert!(stdout(&bad).contains("其后的记录被删除"), "{}", stdout(&bad));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_to_start_with_pending_migrations_and_names_them() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let env = Env::new(backend, false).await;
        let out = env.run(&["serve"], None);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(
            err.contains("待执行的迁移") && err.contains("0001_regions"),
            "{err}"
        );
        assert!(err.contains("jinglao migrate"), "{err}");
        let migrated = env.run(&["migrate"], None);
        assert!(migrated.status.success(), "{}", stderr(&migrated));
        assert!(stdout(&migrated).contains("0007_audit_append_only"));
        let again = env.run(&["migrate"], None);
        assert!(stdout(&again).contains("已是最新"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_in_production_refuses_a_missing_secret_key_naming_the_setting() {
    let env = Env::new(Backend::Sqlite, true).await;
    let out = Command::new(env!("CARGO_BIN_EXE_jinglao"))
        .arg("--config-dir")
        .arg(env.dir.path())
        .arg("serve")
        .env("JINGLAO_MODE", "production")
        .env("JINGLAO_DATABASE_URL", &env.db.url)
        .env(
            "JINGLAO_SECRET_KEY_FILE",
            env.dir.path().join("missing.key"),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("JINGLAO_SECRET_KEY_FILE") && err.contains("missing.key"),
        "{err}"
    );
}

test_on_both! {
    async fn user_add_reads_the_password_from_stdin_and_names_each_bad_flag(env: Env) {
        jinglao_fixtures::demo::seed(&env.db.db, &env.keys).await.unwrap();
        let out = env.run(&["user", "add", "--username", "wangwu", "--role", "village_staff",
            "--region", "430302", "--password-stdin"], Some("Strong-Pass-2026\n"));
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("--region"), "{}", stderr(&out));
        let out = env.run(&["user", "add", "--username", "wangwu", "--role", "janitor",
            "--region", "430302001001", "--password-stdin"], Some("Strong-Pass-2026\n"));
        assert!(!out.status.success());
        assert!(stderr(&out).contains("--role"));
        let out = env.run(&["user", "add", "--username", "wangwu", "--role", "village_staff",
            "--region", "430302001001", "--password-stdin"], Some("short\n"));
        assert!(!out.status.success());
        assert!(stderr(&out).contains("密码"));
        let out = env.run(&["user", "add", "--username", "wangwu", "--role", "village_staff",
            "--region", "430302001001", "--display-name", "王五", "--password-stdin"], Some("Strong-Pass-2026\n"));
        assert!(out.status.success(), "{}", stderr(&out));
        let list = env.run(&["user", "list"], None);
        assert!(stdout(&list).contains("wangwu"));
        let entries = audit::list(&env.db.db, &jinglao_domain::Scope::All, &audit::AuditFilter {
            action: Some("user.create".into()), actor_name: None, ..Default::default() }, 100).await.unwrap();
        assert!(entries.iter().any(|e| e.actor_name.starts_with("cli:") && e.detail.contains("wangwu")));
    }
}

test_on_both! {
    async fn token_create_prints_a_token_once_and_stores_only_its_hash(env: Env) {
        jinglao_fixtures::demo::seed(&env.db.db, &env.keys).await.unwrap();
        let out = env.run(&["token", "create", "--user", "demo_finance", "--days", "30", "--name", "treasury"], None);
        assert!(out.status.success(), "{}", stderr(&out));
        let token = stdout(&out).trim().to_string();
        assert!(token.starts_with("jl_"));
        let mut c = env.db.db.acquire().await.unwrap();
        let found = jinglao_db::tokens::find_live(&mut c.conn(), &jinglao_web::auth::secrets::digest(&token), Utc::now())
            .await.unwrap();
        assert_eq!(found.unwrap().1.username.as_str(), "demo_finance");
        drop(c);
        let bad = env.run(&["token", "create", "--user", "demo_finance", "--days", "0"], None);
        assert!(stderr(&bad).contains("--days"));
        let list = env.run(&["token", "list", "--user", "demo_finance"], None);
        let id = stdout(&list).split_whitespace().next().unwrap().to_string();
        let revoke = env.run(&["token", "revoke", &id], None);
        assert!(revoke.status.success(), "{}", stderr(&revoke));
        let mut c = env.db.db.acquire().await.unwrap();
        assert!(jinglao_db::tokens::find_live(&mut c.conn(), &jinglao_web::auth::secrets::digest(&token), Utc::now())
            .await.unwrap().is_none());
    }
}

test_on_both! {
    async fn a_region_file_with_errors_is_reported_row_by_row_and_nothing_is_written(env: Env) {
        let file = env.dir.path().join("regions.csv");
        std::fs::write(&file, "code,name,level,parent_code\n43,湖南省,province,\n4303,湘潭市,city,43\n\
            430302,雨湖区,township,4303\n430304,,county,4303\n").unwrap();
        let out = env.run(&["regions", "import", file.to_str().unwrap()], None);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(err.contains("第 4 行 level") && err.contains("第 5 行 name"), "{err}");
        let mut c = env.db.db.acquire().await.unwrap();
        assert_eq!(jinglao_db::regions::count(&mut c.conn()).await.unwrap(), 0);
        drop(c);

        let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/regions/seed-regions.csv");
        let out = env.run(&["regions", "import", seed, "--source", "统计用区划代码 2023"], None);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("新增 2797"));
        let again = env.run(&["regions", "import", seed, "--source", "统计用区划代码 2023"], None);
        assert!(stdout(&again).contains("新增 0，更新 0，未变 2797"), "{}", stdout(&again));
    }
}

test_on_both! {
    async fn backup_copies_a_sqlite_database_and_prints_pg_dump_for_postgresql(env: Env) {
        jinglao_fixtures::demo::seed(&env.db.db, &env.keys).await.unwrap();
        let target = env.dir.path().join("backup.db");
        let out = env.run(&["backup", target.to_str().unwrap()], None);
        assert!(out.status.success(), "{}", stderr(&out));
        match env.db.db.backend() {
            Backend::Sqlite => {
                let copy = jinglao_db::Db::connect(&format!("sqlite://{}", target.display()), &Default::default())
                    .await.unwrap();
                let mut c = copy.acquire().await.unwrap();
                assert_eq!(jinglao_db::regions::count(&mut c.conn()).await.unwrap(), 2797);
                let again = env.run(&["backup", target.to_str().unwrap()], None);
                assert!(!again.status.success(), "an existing file is never overwritten");
            }
            Backend::Postgres => {
                let text = stdout(&out);
                assert!(text.contains("pg_dump --format=custom"), "{text}");
                assert!(!target.exists());
            }
        }
    }
}

/// Starts `jinglao demo` in `dir` and returns the child and everything it printed up to the
/// account table's end.
fn start_demo(dir: &std::path::Path, port: u16) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_jinglao"))
        .current_dir(dir)
        .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("JINGLAO_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("auditor");
        out.push_str(&line);
        out.push('\n');
        if done {
            break;
        }
    }
    // Keep draining so the demo never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, out)
}

fn stop(mut child: std::process::Child) -> std::process::ExitStatus {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    child.wait().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_starts_from_an_empty_directory_and_a_second_run_reuses_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (child, out) = start_demo(dir.path(), port);
    assert!(out.contains(&format!("http://127.0.0.1:{port}")), "{out}");
    let roles = [
        "admin",
        "city_staff",
        "county_staff",
        "township_staff",
        "village_staff",
        "assessor",
        "provider_admin",
        "caregiver",
        "finance",
        "inspector",
        "auditor",
    ];
    for role in roles {
        let line = out
            .lines()
            .find(|l| l.starts_with(role))
            .unwrap_or_else(|| panic!("{role}: {out}"));
        assert!(line.contains(&format!("demo_{role}")));
        assert!(
            !line.contains("首次运行时已显示"),
            "passwords are printed the first time"
        );
    }
    let ready = http_status(port, "/readyz").await;
    assert_eq!(ready, 200);
    assert!(stop(child).success(), "SIGTERM stops the demo gracefully");
    // Last month's visits are there to review, with statements drafted.
    let history = out
        .lines()
        .find(|l| l.starts_with("上月上门服务"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        history.contains("待核查") && history.contains("结算单"),
        "{history}"
    );

    // The data is in jinglao-demo.db: the Xiangtan tree with its official counts.
    let db = jinglao_db::Db::connect(
        &format!("sqlite://{}", dir.path().join("jinglao-demo.db").display()),
        &Default::default(),
    )
    .await
    .unwrap();
    let mut c = db.acquire().await.unwrap();
    let tree = jinglao_domain::RegionTree::new(
        jinglao_db::regions::load_all(&mut c.conn()).await.unwrap(),
    );
    let s = tree.stats(&jinglao_domain::RegionCode::parse("4303").unwrap());
    assert_eq!((s.counties, s.townships, s.villages), (8, 70, 957));
    // At least 150 facilities with beds, staff, and residents whose stays match the counters.
    let all = jinglao_db::facilities::list(&mut c.conn(), &jinglao_domain::Scope::All, None)
        .await
        .unwrap();
    assert!(all.len() >= 150, "{} facilities", all.len());
    let today = jinglao_domain::clock::china_date(chrono::Utc::now());
    let (mut beds, mut occupied, mut residents, mut staff) = (0, 0, 0, 0);
    for f in &all {
        let here = jinglao_db::beds::residents(&mut c.conn(), f.id)
            .await
            .unwrap();
        assert_eq!(
            f.occupied_beds,
            here.len() as i64,
            "{}: counter and stays agree",
            f.name
        );
        assert!(f.occupied_beds <= f.beds_total);
        beds += f.beds_total;
        occupied += f.occupied_beds;
        residents += here.len();
        staff += jinglao_db::staff::counts_by_role(&mut c.conn(), f.id, today)
            .await
            .unwrap()
            .iter()
            .map(|(_, n)| n)
            .sum::<i64>();
    }
    assert!(
        beds > 10_000 && occupied > 1_000 && residents > 1_000,
        "{beds} beds, {occupied} occupied"
    );
    assert!(staff > 1_000, "{staff} staff");
    drop(c);
    db.close().await;

    let (child, out) = start_demo(dir.path(), port);
    for role in roles {
        let line = out.lines().find(|l| l.starts_with(role)).unwrap();
        assert!(
            line.contains("首次运行时已显示"),
            "no password is printed again: {line}"
        );
    }
    assert!(stop(child).success());
}

async fn http_status(port: u16, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    buf.split_whitespace().nth(1).unwrap().parse().unwrap()
}

test_on_both! {
    async fn gen_writes_a_deterministic_file_that_elders_import_loads_once_and_then_finds_unchanged(env: Env) {
        jinglao_fixtures::demo::seed(&env.db.db, &env.keys).await.unwrap();
        let a = env.dir.path().join("a.csv");
        let b = env.dir.path().join("b.csv");
        for out in [&a, &b] {
            let o = env.run(&["gen", "elders", "--count", "300", "--seed", "9", "--today", "2026-11-01", "--out", out.to_str().unwrap()], None);
            assert!(o.status.success(), "{}", stderr(&o));
        }
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "same seed and day, same file");
        let again = env.run(&["gen", "elders", "--count", "10", "--out", a.to_str().unwrap()], None);
        assert!(!again.status.success(), "an existing file is not overwritten without --force");

        let dry = env.run(&["elders", "import", a.to_str().unwrap(), "--dry-run"], None);
        assert!(dry.status.success(), "{}", stderr(&dry));
        assert!(stdout(&dry).contains("新登记 300"), "{}", stdout(&dry));
        let mut c = env.db.db.acquire().await.unwrap();
        assert_eq!(jinglao_db::elder_search::total(&mut c.conn()).await.unwrap(), 0, "a dry run writes nothing");
        drop(c);

        let first = env.run(&["elders", "import", a.to_str().unwrap()], None);
        assert!(first.status.success(), "{}", stderr(&first));
        assert!(stdout(&first).contains("已导入：新登记 300"), "{}", stdout(&first));
        let second = env.run(&["elders", "import", a.to_str().unwrap()], None);
        assert!(second.status.success(), "{}", stderr(&second));
        assert!(stdout(&second).contains("新登记 0，更新 0，无变化 300"), "{}", stdout(&second));
    }
}

test_on_both! {
    async fn elders_import_refuses_a_file_with_bad_rows_and_writes_the_rejected_ones_on_request(env: Env) {
        jinglao_fixtures::demo::seed(&env.db.db, &env.keys).await.unwrap();
        let file = env.dir.path().join("people.csv");
        let o = env.run(&["gen", "elders", "--count", "50", "--seed", "3", "--out", file.to_str().unwrap()], None);
        assert!(o.status.success(), "{}", stderr(&o));
        // Break the third person's ID number (its check digit) and the fifth one's region.
        let text = std::fs::read_to_string(&file).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut fields: Vec<String> = lines[3].split(',').map(str::to_string).collect();
        let last = fields[1].pop().unwrap();
        fields[1].push(if last == '0' { '1' } else { '0' });
        lines[3] = fields.join(",");
        let mut fields: Vec<String> = lines[5].split(',').map(str::to_string).collect();
        fields[5] = "430399999999".into();
        lines[5] = fields.join(",");
        std::fs::write(&file, lines.join("\n") + "\n").unwrap();

        let rejected = env.dir.path().join("rejected.csv");
        let refused = env.run(&["elders", "import", file.to_str().unwrap(), "--rejected-out", rejected.to_str().unwrap()], None);
        assert_eq!(refused.status.code(), Some(2), "{}", stdout(&refused));
        let err = stderr(&refused);
        assert!(err.contains("第 4 行") && err.contains("身份证号"), "{err}");
        assert!(err.contains("第 6 行") && err.contains("居住地区划代码"), "{err}");
        assert!(err.contains("未写入任何数据"), "{err}");
        let mut c = env.db.db.acquire().await.unwrap();
        assert_eq!(jinglao_db::elder_search::total(&mut c.conn()).await.unwrap(), 0, "all-or-nothing");
        drop(c);
        let rejected_text = std::fs::read_to_string(&rejected).unwrap();
        assert_eq!(rejected_text.trim_start_matches('\u{feff}').lines().count(), 3, "header and the two rows: {rejected_text}");

        let valid = env.run(&["elders", "import", file.to_str().unwrap(), "--valid-only"], None);
        assert!(valid.status.success(), "{}", stderr(&valid));
        assert!(stdout(&valid).contains("已导入：新登记 48"), "{}", stdout(&valid));
    }
}
