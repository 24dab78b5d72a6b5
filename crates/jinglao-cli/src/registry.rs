//! `jinglao gen elders` (a synthetic population as an import file) and `jinglao elders import`
//! (the command-line import: every row checked, all-or-nothing unless `--valid-only`, a
//! rejected-rows file on request, idempotent by ID number).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use jinglao_db::Db;
use jinglao_domain::RegionCode;
use jinglao_domain::elder_import::rejected_csv;
use jinglao_fixtures::synth::{self, SynthParams};
use jinglao_web::Keys;
use jinglao_web::usecase::registry::import::{ImportOptions, import_file};

/// `jinglao gen …`
#[derive(Debug, Subcommand)]
pub enum GenCommand {
    /// A synthetic older population over the seed regions, as an import file (CSV, or XLSX
    /// when the name ends in .xlsx). Deterministic for a given seed and day.
    Elders {
        /// How many people.
        #[arg(long)]
        count: usize,
        /// Output file (.csv or .xlsx); refused if it exists unless --force.
        #[arg(long)]
        out: PathBuf,
        /// Random seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Region to populate (its villages and communities).
        #[arg(long, default_value = "4303")]
        region: String,
        /// Day ages are counted on (YYYY-MM-DD; default today).
        #[arg(long)]
        today: Option<String>,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
}

/// `jinglao elders …`
#[derive(Debug, Subcommand)]
pub enum EldersCommand {
    /// Import an XLSX or CSV file with the template's Chinese headers. Nothing is written if
    /// any row has a problem, unless --valid-only; importing the same file again changes
    /// nothing.
    Import {
        /// The file.
        file: PathBuf,
        /// Check and report only; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Import the valid rows even if others have problems.
        #[arg(long)]
        valid_only: bool,
        /// Write the rows with problems (with a reasons column) to this CSV file.
        #[arg(long)]
        rejected_out: Option<PathBuf>,
    },
}

/// Today in China.
pub fn china_today() -> chrono::NaiveDate {
    jinglao_domain::clock::china_date(Utc::now())
}

/// Runs `gen`.
pub fn generate(command: GenCommand) -> Result<ExitCode> {
    let GenCommand::Elders {
        count,
        out,
        seed,
        region,
        today,
        force,
    } = command;
    if out.exists() && !force {
        bail!("{} 已存在；要覆盖请加 --force", out.display());
    }
    let root = RegionCode::parse(&region).map_err(|e| anyhow::anyhow!("--region：{e}"))?;
    let today = match today {
        Some(t) => jinglao_domain::category::parse_date(&t)
            .ok_or_else(|| anyhow::anyhow!("--today：日期格式应为 年-月-日"))?,
        None => china_today(),
    };
    let started = Instant::now();
    let people = synth::generate(
        &jinglao_fixtures::seed_tree()?,
        &root,
        SynthParams {
            seed,
            count,
            today,
            threads: 0,
        },
    )?;
    let generated = started.elapsed();
    jinglao_fixtures::files::write_people(&out, &people)?;
    println!(
        "已生成 {count} 名老人（种子 {seed}，以 {today} 计算年龄）：生成 {:.2} 秒，写入 {} 共 {:.2} 秒。",
        generated.as_secs_f64(),
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// A progress bar over the four stages of an import (hidden when output is not a terminal).
pub fn stage_bar() -> ProgressBar {
    let bar = ProgressBar::new(4);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} 第 {pos}/{len} 步 {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Runs `elders …`.
pub async fn elders(db: &Db, keys: &Keys, command: EldersCommand) -> Result<ExitCode> {
    let EldersCommand::Import {
        file,
        dry_run,
        valid_only,
        rejected_out,
    } = command;
    let bytes = std::fs::read(&file).with_context(|| format!("无法读取 {}", file.display()))?;
    let name = file
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or("import")
        .to_string();
    let started = Instant::now();
    let bar = stage_bar();
    let run = import_file(
        db,
        keys,
        &name,
        &bytes,
        ImportOptions {
            dry_run,
            valid_only,
        },
        &|m| {
            if !bar.message().is_empty() {
                bar.inc(1);
            }
            bar.set_message(m);
        },
    )
    .await?;
    bar.inc(1);
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(stages = ?run.stages, "import timings");

    if !run.problems.is_empty() {
        eprintln!(
            "发现 {} 处问题，涉及 {} 行：",
            run.problems.len(),
            run.rejected_rows.max(usize::from(run.plan.is_none()))
        );
        for p in run.problems.iter().take(50) {
            eprintln!("  {p}");
        }
        if run.problems.len() > 50 {
            eprintln!(
                "  ……另有 {} 处，见 --rejected-out 写出的文件",
                run.problems.len() - 50
            );
        }
    }
    if let (Some(path), Some(parsed)) = (&rejected_out, &run.parsed)
        && run.rejected_rows > 0
    {
        std::fs::write(path, rejected_csv(parsed))
            .with_context(|| format!("无法写入 {}", path.display()))?;
        eprintln!(
            "未导入的 {} 行（含错误原因）已写入 {}",
            run.rejected_rows,
            path.display()
        );
    }
    let Some(plan) = &run.plan else {
        eprintln!("文件无法导入，未写入任何数据。");
        return Ok(ExitCode::from(2));
    };
    println!(
        "共 {} 行：新登记 {}，信息有变化 {}，无变化 {}，新增类别 {}，有问题 {} 行。",
        run.total_rows,
        plan.new_count(),
        plan.update_count(),
        plan.unchanged_count(),
        plan.category_count(),
        run.rejected_rows
    );
    match &run.summary {
        Some(s) => {
            println!(
                "已导入：新登记 {}，更新 {}，无变化 {}，新增类别 {}（用时 {seconds:.2} 秒）。",
                s.inserted, s.updated, s.unchanged, s.categories_added
            );
            Ok(ExitCode::SUCCESS)
        }
        None if dry_run => {
            println!("试运行（--dry-run），未写入任何数据（用时 {seconds:.2} 秒）。");
            Ok(if run.rejected_rows > 0 {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
        None => {
            eprintln!(
                "文件有问题行，未写入任何数据。请修改后重新导入，或加 --valid-only 只导入没有问题的 {} 行。",
                plan.rows.len()
            );
            Ok(ExitCode::from(2))
        }
    }
}
