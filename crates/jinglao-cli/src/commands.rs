//! The subcommands (except `demo`, which has its own module, and `bench`, which is the jinglao-bench crate).

use std::collections::HashSet;
use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use jinglao_db::migrate::{self, MigrationStatus};
use jinglao_db::users::{AccountFilter, NewAccount, PasswordChange};
use jinglao_db::{Actor, Backend, Db, PoolSettings, audit, regions, tokens, users};
use jinglao_domain::region_import::parse_region_csv;
use jinglao_domain::{PasswordPolicy, RegionCode, Role, Scope, SystemClock, Username};
use jinglao_web::auth::{password, secrets};
use jinglao_web::{Application, Keys, Settings, shutdown_signal};

use crate::{AuditCommand, Cli, Command, RegionsCommand, TokenCommand, UserCommand};

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Demo {
            listen,
            db,
            elders,
            seed,
        } => crate::demo::run(&listen, &db, elders, seed).await,
        Command::Gen { command } => crate::registry::generate(command),
        Command::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&jinglao_web::api::v1::openapi())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { command } => jinglao_bench::run(command).await,
        command => {
            let settings = Settings::load(&cli.config_dir)?;
            jinglao_web::telemetry::init(&settings.log);
            run_with_settings(command, settings).await
        }
    }
}

async fn run_with_settings(command: Command, settings: Settings) -> Result<ExitCode> {
    match command {
        Command::Serve { migrate } => serve(settings, migrate).await,
        Command::Migrate => {
            let db = connect(&settings).await?;
            let keys = Keys::load(&settings)?;
            let (applied, resealed) = bring_up_to_date(&db, &keys).await?;
            if applied.is_empty() && resealed == 0 {
                println!("数据库已是最新（{}）。", db.redacted_url());
            } else {
                for (v, name) in &applied {
                    println!("已执行迁移 {v:04}_{name}");
                }
                if resealed > 0 {
                    println!("已将 {resealed} 个加密字段重新加密并绑定到所属记录");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::User { command } => user(settings, command).await,
        Command::Token { command } => token(settings, command).await,
        Command::Regions {
            command: RegionsCommand::Import { file, source },
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("无法读取 {}", file.display()))?;
            let db = ready_db(&settings).await?;
            let keys = Keys::load(&settings)?;
            let source = source.unwrap_or_else(|| {
                format!(
                    "{}（导入于 {}）",
                    file.file_name().and_then(|f| f.to_str()).unwrap_or("CSV"),
                    Utc::now().format("%Y-%m-%d")
                )
            });
            import_regions(&db, &keys, &text, &source).await
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let db = ready_db(&settings).await?;
            let keys = Keys::load(&settings)?;
            let v = audit::verify(&db, &keys.audit_chain, 5000).await?;
            if let Some(b) = v.broken {
                println!("审计日志已被篡改：{b}");
                println!(
                    "第一处问题：第 {} 条（其前 {} 条核对无误）",
                    b.first_bad_seq(),
                    v.checked
                );
                return Ok(ExitCode::from(2));
            }
            println!(
                "审计链自身完整：共 {} 条，链头第 {} 条，哈希 {}",
                v.checked, v.head_seq, v.head_hash
            );
            let Some(file) = &settings.audit.anchor_file else {
                println!("{}", jinglao_db::audit_anchor::NOT_CONFIGURED);
                return Ok(ExitCode::SUCCESS);
            };
            let a = jinglao_db::audit_anchor::verify(&db, &keys.audit_chain, file).await?;
            println!("{}", a.summary());
            Ok(if a.broken.is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Audit {
            command: AuditCommand::Anchor,
        } => {
            let db = ready_db(&settings).await?;
            let keys = Keys::load(&settings)?;
            let Some(file) = &settings.audit.anchor_file else {
                bail!("未配置锚点文件（audit.anchor_file）");
            };
            match jinglao_db::audit_anchor::write(&db, &keys.audit_chain, file, Utc::now()).await? {
                Some(a) => println!("已写入锚点：第 {} 条，哈希 {}", a.seq, a.hash),
                None => println!("审计日志还是空的，没有可写的锚点"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { file } => backup(&settings, &file).await,
        Command::Elders { command } => {
            let db = ready_db(&settings).await?;
            let keys = Keys::load(&settings)?;
            crate::registry::elders(&db, &keys, command).await
        }
        Command::Demo { .. } | Command::Openapi | Command::Bench { .. } | Command::Gen { .. } => {
            unreachable!("handled before settings are loaded")
        }
    }
}

fn pool_settings(settings: &Settings) -> PoolSettings {
    PoolSettings {
        max_connections: settings.database.max_connections,
        busy_timeout: Duration::from_millis(settings.database.busy_timeout_ms),
        ..PoolSettings::default()
    }
}

/// Connects to the configured database.
pub async fn connect(settings: &Settings) -> Result<Db> {
    Db::connect(&settings.database_url, &pool_settings(settings))
        .await
        .with_context(|| {
            format!(
                "无法连接数据库 {}",
                jinglao_db::redact_url(&settings.database_url)
            )
        })
}

/// Brings a database up to date: pending migrations (and the reference data they load), then
/// the one-time resealing of first-release encrypted fields. Returns both counts.
pub(crate) async fn bring_up_to_date(
    db: &Db,
    keys: &Keys,
) -> anyhow::Result<(Vec<(i64, &'static str)>, usize)> {
    let applied = migrate::run(db).await?;
    let resealed = jinglao_db::crypto::reseal_legacy(db, &keys.cipher).await?;
    let filled = jinglao_db::search_keys::backfill(db, &keys.cipher).await?;
    if filled > 0 {
        tracing::info!("filled the search keys of {filled} registry rows");
    }
    Ok((applied, resealed))
}

fn pending_message(status: &MigrationStatus) -> String {
    let names: Vec<String> = status
        .pending
        .iter()
        .map(|(v, n)| format!("{v:04}_{n}"))
        .collect();
    format!(
        "数据库有 {} 个待执行的迁移（{}）。请先运行 `jinglao migrate`，或以 `jinglao serve --migrate` 启动。",
        names.len(),
        names.join("、")
    )
}

/// Connects and refuses to continue when migrations are pending.
pub async fn ready_db(settings: &Settings) -> Result<Db> {
    let db = connect(settings).await?;
    let status = migrate::status(&db).await?;
    if !status.is_current() {
        bail!(pending_message(&status));
    }
    Ok(db)
}

async fn serve(settings: Settings, apply_migrations: bool) -> Result<ExitCode> {
    let keys = Keys::load(&settings)?;
    let db = connect(&settings).await?;
    let status = migrate::status(&db).await?;
    if !status.is_current() {
        if !apply_migrations {
            bail!(pending_message(&status));
        }
        let (applied, resealed) = bring_up_to_date(&db, &keys).await?;
        for (v, name) in applied {
            tracing::info!("applied migration {v:04}_{name}");
        }
        if resealed > 0 {
            tracing::info!("resealed {resealed} encrypted fields bound to their records");
        }
    }
    let url = settings.display_url();
    if settings.mode == jinglao_web::Mode::Production && !settings.cookies_secure() {
        tracing::warn!(
            "production mode without an https public_url: cookies are not marked Secure; set \
             public_url (JINGLAO_PUBLIC_URL) to the https address users type"
        );
    }
    let backend = db.backend();
    let app = Application::build(settings, db, keys, Arc::new(SystemClock)).await?;
    let stop = shutdown_signal();
    tracing::info!(
        address = %app.local_addr(),
        database = backend.as_str(),
        "jinglao is serving at {url}"
    );
    app.run_until_stopped(stop).await?;
    Ok(ExitCode::SUCCESS)
}

fn read_password_stdin() -> Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("无法从标准输入读取密码")?;
    let p = s.trim_end_matches(['\n', '\r']).to_string();
    if p.is_empty() {
        bail!("标准输入中没有密码");
    }
    Ok(p)
}

async fn find_user(db: &Db, name: &str) -> Result<jinglao_domain::Account> {
    let username = Username::parse(name).map_err(|e| anyhow::anyhow!("--username/--user：{e}"))?;
    let mut c = db.acquire().await?;
    users::by_username(&mut c.conn(), &Scope::All, &username)
        .await?
        .ok_or_else(|| anyhow::anyhow!("账号 {username} 不存在"))
}

async fn user(settings: Settings, command: UserCommand) -> Result<ExitCode> {
    let db = ready_db(&settings).await?;
    let keys = Keys::load(&settings)?;
    let actor = Actor::cli();
    match command {
        UserCommand::Add {
            username,
            role,
            region,
            provider,
            display_name,
            password_stdin: _,
        } => {
            let username =
                Username::parse(&username).map_err(|e| anyhow::anyhow!("--username：{e}"))?;
            let role: Role = role
                .parse()
                .map_err(|e: String| anyhow::anyhow!("--role：{e}"))?;
            let region_code =
                RegionCode::parse(&region).map_err(|e| anyhow::anyhow!("--region：{e}"))?;
            let provider_id = provider
                .map(|p| uuid::Uuid::parse_str(&p))
                .transpose()
                .map_err(|_| anyhow::anyhow!("--provider：应为服务机构编号（UUID）"))?;
            let password_text = read_password_stdin()?;
            PasswordPolicy::default()
                .check(username.as_str(), &password_text)
                .map_err(|e| anyhow::anyhow!("密码：{e}"))?;
            let new = NewAccount {
                display_name: display_name.unwrap_or_else(|| username.to_string()),
                username,
                role,
                region_code,
                provider_id,
                password_hash: password::hash_blocking(&password_text)?,
                must_change_password: false,
            };
            match users::create(&db, &keys.audit_chain, &actor, new, Utc::now()).await {
                Ok(a) => {
                    println!(
                        "已创建账号 {}（{}，区划 {}），编号 {}",
                        a.username,
                        a.role.as_str(),
                        a.region_code,
                        a.id
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(jinglao_db::DbError::Invalid(inv)) => {
                    for e in inv.errors {
                        eprintln!("错误：{}：{}", cli_flag(&e.field), e.message);
                    }
                    Ok(ExitCode::from(2))
                }
                Err(e) => Err(e.into()),
            }
        }
        UserCommand::Passwd {
            username,
            password_stdin: _,
        } => {
            let account = find_user(&db, &username).await?;
            let password_text = read_password_stdin()?;
            PasswordPolicy::default()
                .check(account.username.as_str(), &password_text)
                .map_err(|e| anyhow::anyhow!("密码：{e}"))?;
            let hash = password::hash_blocking(&password_text)?;
            users::set_password(
                &jinglao_db::WriteCtx::new(&db, &keys.audit_chain, &actor, Utc::now()),
                account.id,
                &hash,
                PasswordChange::ByUser,
                None,
            )
            .await?;
            println!(
                "已为 {} 设置新密码；该账号原有的登录和令牌均已失效。",
                account.username
            );
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::List => {
            let mut c = db.acquire().await?;
            let all = users::list(
                &mut c.conn(),
                &Scope::All,
                &AccountFilter::default(),
                10_000,
                0,
            )
            .await?;
            println!(
                "{:<28} {:<16} {:<14} {:<6} 姓名",
                "用户名", "角色", "区划", "状态"
            );
            for a in all {
                println!(
                    "{:<28} {:<16} {:<14} {:<6} {}",
                    a.username.as_str(),
                    a.role.as_str(),
                    a.region_code.as_str(),
                    if a.active { "启用" } else { "停用" },
                    a.display_name
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The command-line flag for a form field name.
fn cli_flag(field: &str) -> &str {
    match field {
        "username" => "--username",
        "role" => "--role",
        "region_code" => "--region",
        "provider_id" => "--provider",
        "display_name" => "--display-name",
        other => other,
    }
}

async fn token(settings: Settings, command: TokenCommand) -> Result<ExitCode> {
    let db = ready_db(&settings).await?;
    let keys = Keys::load(&settings)?;
    let actor = Actor::cli();
    match command {
        TokenCommand::Create { user, days, name } => {
            if !(1..=730).contains(&days) {
                bail!("--days 应在 1 到 730 之间，实际为 {days}");
            }
            let account = find_user(&db, &user).await?;
            if !account.active {
                bail!("账号 {} 已停用，不能创建令牌", account.username);
            }
            let token = secrets::new_api_token();
            let now = Utc::now();
            let rec = tokens::create_integration(
                &jinglao_db::WriteCtx::new(&db, &keys.audit_chain, &actor, now),
                account.id,
                &name,
                &secrets::digest(&token),
                now + chrono::Duration::days(days),
            )
            .await?;
            println!("{token}");
            eprintln!(
                "已为 {} 创建集成令牌 {}（编号 {}），有效期至 {}。令牌只显示这一次，请妥善保存。",
                account.username,
                name,
                rec.id,
                jinglao_domain::clock::format_local(rec.expires_at)
            );
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::List { user } => {
            let account = find_user(&db, &user).await?;
            let mut c = db.acquire().await?;
            for t in tokens::list_for_user(&mut c.conn(), account.id).await? {
                let state = if t.revoked_at.is_some() {
                    "已吊销"
                } else if t.expires_at <= Utc::now() {
                    "已过期"
                } else {
                    "有效"
                };
                println!(
                    "{}  {:<12} {:<20} 到期 {}  {}",
                    t.id,
                    t.kind,
                    t.name,
                    jinglao_domain::clock::format_local(t.expires_at),
                    state
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke { id } => {
            let id =
                uuid::Uuid::parse_str(&id).map_err(|_| anyhow::anyhow!("令牌编号应为 UUID"))?;
            let rec = tokens::revoke(&db, &keys.audit_chain, &actor, id, Utc::now())
                .await
                .map_err(|e| match e {
                    jinglao_db::DbError::NotFound => anyhow::anyhow!("令牌 {id} 不存在"),
                    other => other.into(),
                })?;
            println!("已吊销令牌 {}（{}）", rec.id, rec.name);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Checks and imports a region file; prints the row-by-row report when anything is wrong.
pub async fn import_regions(db: &Db, keys: &Keys, text: &str, source: &str) -> Result<ExitCode> {
    let known: HashSet<RegionCode> = {
        let mut c = db.acquire().await?;
        regions::all_codes(&mut c.conn()).await?
    };
    match parse_region_csv(text, &known) {
        Err(problems) => {
            eprintln!("文件有 {} 处问题，未导入任何数据：", problems.len());
            for p in &problems {
                eprintln!("  {p}");
            }
            Ok(ExitCode::from(2))
        }
        Ok(records) => {
            let s = regions::import(
                db,
                &keys.audit_chain,
                &Actor::cli(),
                &records,
                source,
                Utc::now(),
            )
            .await?;
            println!(
                "已导入 {} 行：新增 {}，更新 {}，未变 {}。",
                records.len(),
                s.inserted,
                s.updated,
                s.unchanged
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn backup(settings: &Settings, file: &std::path::Path) -> Result<ExitCode> {
    match Backend::from_url(&settings.database_url)? {
        Backend::Postgres => {
            let url = jinglao_db::redact_url(&settings.database_url);
            println!("PostgreSQL 请用 pg_dump 备份（在能连接数据库的机器上运行）：");
            println!();
            println!(
                "  pg_dump --format=custom --no-owner --file '{}' '{}'",
                file.display(),
                url
            );
            println!();
            println!(
                "恢复：pg_restore --clean --if-exists --no-owner --dbname '<目标数据库地址>' '{}'",
                file.display()
            );
            println!("密码请通过 PGPASSWORD 或 ~/.pgpass 提供，不要写在命令行上。");
            Ok(ExitCode::SUCCESS)
        }
        Backend::Sqlite => {
            if file.exists() {
                bail!("{} 已存在；备份不会覆盖已有文件", file.display());
            }
            let db = connect(settings).await?;
            let started = std::time::Instant::now();
            jinglao_db::backup_sqlite(&db, file).await?;
            let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
            println!(
                "已备份到 {}（{:.1} MB，用时 {:.1} 秒）。请同时妥善保存密钥文件，没有它备份中的加密字段和审计校验都无法使用。",
                file.display(),
                size as f64 / 1e6,
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
