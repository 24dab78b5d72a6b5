//! `jinglao demo`: a working platform with demo data on an embedded SQLite file, one command.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use jinglao_domain::SystemClock;
use jinglao_fixtures::demo::PopulationOutcome;
use jinglao_web::config::LogSettings;
use jinglao_web::{Application, Keys, Mode, Settings, shutdown_signal};

/// Creates or reuses the demo database and serves it.
pub async fn run(listen: &str, db_url: &str, elders: usize, seed: u64) -> Result<ExitCode> {
    let started = Instant::now();
    let listen: SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen：“{listen}”不是有效的地址，例如 127.0.0.1:8080"))?;
    let settings = Settings {
        mode: Mode::Development,
        database_url: db_url.to_string(),
        listen,
        secret_key_file: Some(PathBuf::from("jinglao-demo.key")),
        audit: jinglao_web::config::AuditSettings {
            anchor_file: Some(PathBuf::from("jinglao-demo.anchors")),
            ..Default::default()
        },
        log: LogSettings {
            format: "pretty".into(),
            filter: "info,sqlx=warn".into(),
        },
        ..Settings::default()
    };
    jinglao_web::telemetry::init(&settings.log);
    let keys = Keys::load(&settings)?;
    let db = crate::commands::connect(&settings).await?;
    crate::commands::bring_up_to_date(&db, &keys).await?;
    let accounts = jinglao_fixtures::demo::seed(&db, &keys).await?;
    let population = seed_population(&db, &keys, elders, seed).await?;
    let (facilities, admitted) =
        jinglao_fixtures::demo::seed_facilities(&db, &keys, 180, seed).await?;
    // The purchase year first: its contract prices the demo provider's government-paid visits.
    let purchases =
        jinglao_fixtures::demo_purchase::seed_purchase(&db, &keys, chrono::Utc::now()).await?;
    let round = jinglao_fixtures::demo::seed_home_services(&db, &keys, chrono::Utc::now()).await?;
    let patrols = jinglao_fixtures::demo::seed_patrols(&db, &keys, chrono::Utc::now()).await?;
    let history =
        jinglao_fixtures::demo_history::seed_last_month(&db, &keys, chrono::Utc::now()).await?;
    jinglao_fixtures::demo_purchase::seed_acceptance_and_evaluation(&db, &keys, chrono::Utc::now())
        .await?;
    let app = Application::build(settings.clone(), db, keys, Arc::new(SystemClock)).await?;
    // Listen for Ctrl-C and SIGTERM before announcing the URL.
    let stop = shutdown_signal();
    let url = format!("http://{}", app.local_addr());

    println!();
    println!("敬老 jinglao 演示平台已启动：{url}");
    println!(
        "数据库：{}（密钥文件 jinglao-demo.key，请与数据库一起保存）",
        jinglao_db::redact_url(db_url)
    );
    match population {
        PopulationOutcome::Kept(n) => println!("老年人数据库：沿用已有的 {n} 人。"),
        PopulationOutcome::Loaded(s) => println!(
            "老年人数据库：已生成演示人口 {} 人（种子 {seed}），特殊类别 {} 条，能力评估 {} 份。",
            s.elders, s.categories, s.assessments
        ),
    }
    if admitted > 0 {
        println!(
            "养老服务设施：{facilities} 家（含床位与从业人员），已安排 {admitted} 位演示老人入住。"
        );
    } else {
        println!("养老服务设施：{facilities} 家（含床位与从业人员）。");
    }
    if round > 0 {
        println!(
            "今日上门服务：已为护理员 demo_caregiver 派发 {round} 张工单（手机打开 {url}/my/visits）。"
        );
    }
    if patrols > 0 {
        println!("巡访名单：雨湖区 {patrols} 位老人（{url}/patrols）。");
    }
    if history.visits > 0 {
        println!(
            "上月上门服务：{} 次，其中 {} 次待核查（{url}/visits/exceptions）、疑点见 {url}/visits/signals，已生成结算单 {} 张（{url}/statements）。",
            history.visits, history.exceptions, history.statements
        );
    }
    if purchases > 0 {
        println!(
            "政府购买服务：{purchases} 个购买项目（指导性目录、财政审核、公告、投标、合同），开放数据见 {url}/open-data/ocds/records.json。"
        );
    }
    println!(
        "准备用时 {:.1} 秒。按 Ctrl-C 停止。",
        started.elapsed().as_secs_f64()
    );
    println!();
    println!(
        "{:<16} {:<26} {:<18} 姓名（辖区）",
        "角色", "用户名", "密码"
    );
    let mut reused = false;
    for a in &accounts {
        let pw = match &a.password {
            Some(p) => p.clone(),
            None => {
                reused = true;
                "（首次运行时已显示）".into()
            }
        };
        println!(
            "{:<16} {:<26} {:<18} {}（{}）",
            a.role.as_str(),
            a.username,
            pw,
            a.display_name,
            a.region_code
        );
    }
    if reused {
        println!();
        println!(
            "忘记密码可重设：echo '新密码' | jinglao user passwd --username demo_admin --password-stdin \
             （运行前设 JINGLAO_DATABASE_URL={db_url} JINGLAO_SECRET_KEY_FILE=jinglao-demo.key）"
        );
    }
    println!();
    app.run_until_stopped(stop).await?;
    Ok(ExitCode::SUCCESS)
}

/// Generates the demo population with a progress bar (only when the registry is empty).
async fn seed_population(
    db: &jinglao_db::Db,
    keys: &Keys,
    count: usize,
    seed: u64,
) -> Result<PopulationOutcome> {
    let bar = indicatif::ProgressBar::new(count as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "生成演示人口 [{elapsed_precise}] {bar:30} {pos}/{len} 人",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let outcome = jinglao_fixtures::demo::seed_population(db, keys, count, seed, |n| {
        bar.set_position(n as u64)
    })
    .await?;
    bar.finish_and_clear();
    Ok(outcome)
}
