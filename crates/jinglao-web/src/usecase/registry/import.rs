//! Importing older people from a file outside the web (the `jinglao elders import` command
//! and the import benchmark): read, check every row, compare with the registry and write all
//! or nothing (or only the valid rows when asked), as the command-line account.

use std::time::{Duration, Instant};

use chrono::Utc;
use jinglao_db::elder_import::{self, ImportPlan, ImportSource, ImportSummary};
use jinglao_db::{Actor, Db, regions};
use jinglao_domain::elder::ValidationContext;
use jinglao_domain::elder_import::{ParsedImport, parse_table};
use jinglao_domain::policy::PolicyKey;
use jinglao_domain::region_import::RowProblem;
use jinglao_domain::tabular::read_table;
use jinglao_domain::{RegionCode, RegionTree, Scope};
use sha2::{Digest, Sha256};

use crate::Keys;

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

/// Reads, checks, plans and (unless refused) writes a file as the command-line account,
/// telling `progress` as each of the four stages starts.
pub async fn import_file(
    db: &Db,
    keys: &Keys,
    file_name: &str,
    bytes: &[u8],
    options: ImportOptions,
    progress: &dyn Fn(String),
) -> anyhow::Result<ImportRun> {
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
    progress("读取文件".into());
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
    progress(format!(
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
        today: jinglao_domain::clock::china_date(Utc::now()),
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
    progress(format!("与已登记的 {} 人比对", parsed.records.len()));
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
    let write = !options.dry_run && (run.rejected_rows == 0 || options.valid_only);
    if write {
        progress(format!("写入 {} 行", plan.rows.len()));
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
    run.plan = Some(plan);
    run.parsed = Some(parsed);
    Ok(run)
}
