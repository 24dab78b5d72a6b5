//! `jinglao gen elders` (a synthetic population as an import file) and `jinglao elders import`
//! (the command-line import: every row checked, all-or-nothing unless `--valid-only`, a
//! rejected-rows file on request, idempotent by ID number).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use jinglao_db::elder_import::{self, ImportPlan, ImportSource, ImportSummary};
use jinglao_db::{Actor, Db, regions};
use jinglao_domain::elder::ValidationContext;
use jinglao_domain::elder_import::{
    IMPORT_COLUMNS, ParsedImport, import_row, parse_table, rejected_csv,
};
use jinglao_domain::policy::PolicyKey;
use jinglao_domain::region_import::{RowProblem, parse_region_csv};
use jinglao_domain::tabular::read_table;
use jinglao_domain::{Region, RegionCode, RegionTree, Scope};
use jinglao_fixtures::synth::{self, SynthElder, SynthParams};
use jinglao_web::Keys;
use sha2::{Digest, Sha256};

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

/// The embedded seed regions as a tree (for generating without a database).
pub fn seed_tree() -> Result<RegionTree> {
    let records = parse_region_csv(
        jinglao_fixtures::demo::SEED_REGIONS_CSV,
        &Default::default(),
    )
    .map_err(|p| anyhow::anyhow!("内置区划文件有误：{}", p[0]))?;
    Ok(RegionTree::new(
        records
            .into_iter()
            .map(|r| Region {
                code: r.code,
                name: r.name,
                level: r.level,
                parent_code: r.parent_code,
                area_type: r.area_type,
                area_type_manual: false,
                source: jinglao_fixtures::demo::SEED_SOURCE.into(),
            })
            .collect(),
    ))
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
        &seed_tree()?,
        &root,
        SynthParams {
            seed,
            count,
            today,
            threads: 0,
        },
    )?;
    let generated = started.elapsed();
    write_people(&out, &people)?;
    println!(
        "已生成 {count} 名老人（种子 {seed}，以 {today} 计算年龄）：生成 {:.2} 秒，写入 {} 共 {:.2} 秒。",
        generated.as_secs_f64(),
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes people as an import file: XLSX when the name ends in `.xlsx`, otherwise CSV (UTF-8
/// with a byte-order mark, as Excel expects).
pub fn write_people(path: &Path, people: &[SynthElder]) -> Result<()> {
    let is_xlsx = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if is_xlsx {
        use rust_xlsxwriter::{Format, Workbook};
        let mut wb = Workbook::new();
        let text = Format::new().set_num_format("@");
        let sheet = wb.add_worksheet_with_constant_memory()?;
        sheet.set_name("老年人")?;
        for (c, col) in IMPORT_COLUMNS.iter().enumerate() {
            sheet.write_string(0, c as u16, col.header)?;
        }
        for (r, p) in people.iter().enumerate() {
            for (c, v) in import_row(&p.input, &p.categories).iter().enumerate() {
                sheet.write_string_with_format(r as u32 + 1, c as u16, v, &text)?;
            }
        }
        wb.save(path)
            .with_context(|| format!("无法写入 {}", path.display()))?;
    } else {
        let file =
            std::fs::File::create(path).with_context(|| format!("无法创建 {}", path.display()))?;
        let mut buf = std::io::BufWriter::new(file);
        buf.write_all("\u{feff}".as_bytes())?;
        let mut w = csv::Writer::from_writer(buf);
        w.write_record(IMPORT_COLUMNS.iter().map(|c| c.header))?;
        for p in people {
            w.write_record(import_row(&p.input, &p.categories))?;
        }
        w.flush()?;
    }
    Ok(())
}

/// What an import run found and did.
#[derive(Debug)]
pub struct ImportRun {
    /// Data rows in the file.
    pub total_rows: usize,
    /// Problems (file-level problems have line 1).
    pub problems: Vec<RowProblem>,
    /// Lines with problems.
    pub rejected_rows: usize,
    /// The plan, when the file could be read.
    pub plan: Option<ImportPlan>,
    /// What was written, if anything.
    pub summary: Option<ImportSummary>,
    /// The parsed file (for the rejected-rows file).
    pub parsed: Option<ParsedImport>,
    /// How long each stage took.
    pub stages: Vec<(&'static str, Duration)>,
}

/// Options of one import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Write nothing.
    pub dry_run: bool,
    /// Write the valid rows even if others have problems.
    pub valid_only: bool,
}

/// Reads, checks, plans and (unless refused) writes a file, reporting each stage to `bar`.
pub async fn import_bytes(
    db: &Db,
    keys: &Keys,
    file_name: &str,
    bytes: &[u8],
    options: ImportOptions,
    bar: &ProgressBar,
) -> Result<ImportRun> {
    let mut run = ImportRun {
        total_rows: 0,
        problems: Vec::new(),
        rejected_rows: 0,
        plan: None,
        summary: None,
        parsed: None,
        stages: Vec::new(),
    };
    let mut clock = Instant::now();
    let mut lap = |run: &mut ImportRun, stage: &'static str| {
        run.stages.push((stage, clock.elapsed()));
        clock = Instant::now();
    };
    bar.set_message("读取文件");
    let table = match read_table(bytes) {
        Ok(t) => t,
        Err(e) => {
            run.problems.push(RowProblem {
                line: 1,
                column: String::new(),
                value: String::new(),
                reason: e.to_string(),
            });
            return Ok(run);
        }
    };
    lap(&mut run, "read");
    bar.inc(1);
    bar.set_message(format!(
        "逐行校验 {} 行",
        table.rows.len().saturating_sub(1)
    ));
    let tree = {
        let mut c = db.acquire().await?;
        RegionTree::new(regions::load_all(&mut c.conn()).await?)
    };
    let book = jinglao_db::policy::book(db).await?;
    let root = tree
        .roots(&Scope::All)
        .first()
        .map(|r| r.code)
        .unwrap_or_else(|| RegionCode::parse("43").expect("code"));
    let ctx = ValidationContext {
        regions: &tree,
        today: china_today(),
        min_age: book.int(PolicyKey::RegistryMinAge, &root) as i32,
    };
    let mut parsed = match parse_table(&table, &ctx) {
        Ok(p) => p,
        Err(problems) => {
            run.problems = problems;
            return Ok(run);
        }
    };
    drop(table);
    lap(&mut run, "validate");
    bar.inc(1);
    bar.set_message(format!("与已登记的 {} 人比对", parsed.records.len()));
    let plan = elder_import::plan(db, &keys.cipher, &Scope::All, &parsed.records).await?;
    for r in &plan.refused {
        parsed.rejected_lines.insert(r.line);
        parsed.problems.push(r.clone());
    }
    parsed.problems.sort_by_key(|p| p.line);
    run.total_rows = parsed.total_rows;
    run.problems = parsed.problems.clone();
    run.rejected_rows = parsed.rejected_lines.len();
    lap(&mut run, "plan");
    bar.inc(1);
    let write = !options.dry_run && (run.rejected_rows == 0 || options.valid_only);
    if write {
        bar.set_message(format!("写入 {} 行", plan.rows.len()));
        let source = ImportSource {
            file_name: file_name.to_string(),
            checksum: hex::encode(Sha256::digest(bytes)),
        };
        let summary = elder_import::apply(
            db,
            keys.secrets(),
            &Actor::cli(),
            &parsed.records,
            &plan,
            &source,
            Utc::now(),
        )
        .await?;
        run.summary = Some(summary);
        lap(&mut run, "write");
    }
    bar.inc(1);
    run.plan = Some(plan);
    run.parsed = Some(parsed);
    Ok(run)
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
    let run = import_bytes(
        db,
        keys,
        &name,
        &bytes,
        ImportOptions {
            dry_run,
            valid_only,
        },
        &bar,
    )
    .await?;
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
