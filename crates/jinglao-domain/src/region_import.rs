//! Parsing and checking a division-code CSV file (`code,name,level,parent_code`).
//!
//! The whole file is checked before anything is written; the report lists every problem with
//! its row, column, value and reason so that a clerk can fix the file in one pass.

use std::collections::{HashMap, HashSet};

use crate::region::{AreaType, RegionCode, RegionLevel, derive_area_type};

/// One valid row of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionRecord {
    /// Normalised 12-digit code.
    pub code: RegionCode,
    /// Official name.
    pub name: String,
    /// Level, checked against the code.
    pub level: RegionLevel,
    /// Parent, checked against the code.
    pub parent_code: Option<RegionCode>,
    /// Derived urban/rural type.
    pub area_type: Option<AreaType>,
}

/// A problem found in one cell (or one row) of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// 1-based line number in the file (the header is line 1).
    pub line: usize,
    /// Column name, or empty when the whole row is at fault.
    pub column: String,
    /// The offending value as written.
    pub value: String,
    /// What is wrong, in Chinese.
    pub reason: String,
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "第 {} 行 {} 列 “{}”：{}",
            self.line, self.column, self.value, self.reason
        )
    }
}

const COLUMNS: [&str; 4] = ["code", "name", "level", "parent_code"];

/// Parses and checks a file. Parents must appear in the file or be listed in `known_codes`
/// (the regions already in the database).
pub fn parse_region_csv(
    text: &str,
    known_codes: &HashSet<RegionCode>,
) -> Result<Vec<RegionRecord>, Vec<RowProblem>> {
    let mut problems = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());

    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
        Err(e) => {
            return Err(vec![RowProblem {
                line: 1,
                column: String::new(),
                value: String::new(),
                reason: format!("无法读取表头：{e}"),
            }]);
        }
    };
    if headers != COLUMNS {
        return Err(vec![RowProblem {
            line: 1,
            column: String::new(),
            value: headers.join(","),
            reason: format!("表头应为 {}", COLUMNS.join(",")),
        }]);
    }

    let mut records = Vec::new();
    let mut seen: HashMap<RegionCode, usize> = HashMap::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                problems.push(problem(line, "", "", &format!("无法读取：{e}")));
                continue;
            }
        };
        if row.len() != COLUMNS.len() {
            problems.push(problem(
                line,
                "",
                &row.iter().collect::<Vec<_>>().join(","),
                &format!("应有 {} 列，实际 {} 列", COLUMNS.len(), row.len()),
            ));
            continue;
        }
        let (code_s, name, level_s, parent_s) =
            (row[0].trim(), row[1].trim(), row[2].trim(), row[3].trim());
        let before = problems.len();

        let code = match RegionCode::parse(code_s) {
            Ok(c) => Some(c),
            Err(e) => {
                problems.push(problem(line, "code", code_s, &e.to_string()));
                None
            }
        };
        if name.is_empty() {
            problems.push(problem(line, "name", name, "名称不能为空"));
        } else if name.chars().count() > 100 {
            problems.push(problem(line, "name", name, "名称不能超过 100 个字"));
        }
        let level = match level_s.parse::<RegionLevel>() {
            Ok(l) => Some(l),
            Err(e) => {
                problems.push(problem(line, "level", level_s, &e));
                None
            }
        };
        let parent = if parent_s.is_empty() {
            None
        } else {
            match RegionCode::parse(parent_s) {
                Ok(c) => Some(c),
                Err(e) => {
                    problems.push(problem(line, "parent_code", parent_s, &e.to_string()));
                    None
                }
            }
        };

        if let Some(code) = code {
            if let Some(level) = level
                && code.level() != level
            {
                problems.push(problem(
                    line,
                    "level",
                    level_s,
                    &format!("代码 {} 表示{}，与级别不符", code_s, code.level().label()),
                ));
            }
            if parent != code.parent() && !(parent_s.is_empty() && code.parent().is_none()) {
                let expected = code
                    .parent()
                    .map(|p| p.short().to_string())
                    .unwrap_or_else(|| "空".into());
                problems.push(problem(
                    line,
                    "parent_code",
                    parent_s,
                    &format!("按代码推算，上级应为 {expected}"),
                ));
            }
            if let Some(first) = seen.insert(code, line) {
                problems.push(problem(
                    line,
                    "code",
                    code_s,
                    &format!("与第 {first} 行重复"),
                ));
            }
        }

        if problems.len() == before
            && let (Some(code), Some(level)) = (code, level)
        {
            records.push(RegionRecord {
                code,
                name: name.to_string(),
                level,
                parent_code: parent,
                area_type: derive_area_type(&code, name),
            });
        }
    }

    // Every parent must exist, in the file or already in the database.
    for (idx, r) in records.iter().enumerate() {
        if let Some(p) = r.parent_code
            && !seen.contains_key(&p)
            && !known_codes.contains(&p)
        {
            let line = seen.get(&r.code).copied().unwrap_or(idx + 2);
            problems.push(problem(
                line,
                "parent_code",
                p.short(),
                "上级区划既不在文件中，也不在系统中",
            ));
        }
    }

    if problems.is_empty() {
        // Parents before children, so that inserts never violate the foreign key.
        records.sort_by_key(|r| (r.level, r.code));
        Ok(records)
    } else {
        problems.sort_by_key(|p| p.line);
        Err(problems)
    }
}

fn problem(line: usize, column: &str, value: &str, reason: &str) -> RowProblem {
    RowProblem {
        line,
        column: column.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_file_parses_without_a_single_problem() {
        let text = include_str!("../../../data/regions/seed-regions.csv");
        let records = parse_region_csv(text, &HashSet::new()).expect("seed file is valid");
        assert_eq!(records.len(), 2797);
        let xiangtan: Vec<_> = records
            .iter()
            .filter(|r| r.code.as_str().starts_with("4303"))
            .collect();
        let count = |l| xiangtan.iter().filter(|r| r.level == l).count();
        assert_eq!(count(RegionLevel::County), 8);
        assert_eq!(count(RegionLevel::Township), 70);
        assert_eq!(count(RegionLevel::Village), 957);
    }

    #[test]
    fn every_problem_is_reported_with_line_column_value_and_reason() {
        let text = "code,name,level,parent_code\n\
                    43,湖南省,province,\n\
                    4303,湘潭市,county,43\n\
                    430302,,county,4303\n\
                    4303x2,雨湖区,county,4303\n\
                    430304,岳塘区,county,4302\n\
                    430305,某区,county,4303\n\
                    430305,某区,county,4303\n";
        let problems = parse_region_csv(text, &HashSet::new()).unwrap_err();
        let summary: Vec<_> = problems
            .iter()
            .map(|p| (p.line, p.column.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (3, "level"),
                (4, "name"),
                (5, "code"),
                (6, "parent_code"),
                (8, "code"),
            ]
        );
        assert!(problems[4].reason.contains("第 7 行"));
    }

    #[test]
    fn a_parent_already_in_the_database_is_accepted() {
        let text = "code,name,level,parent_code\n430399,新区,county,4303\n";
        let missing = parse_region_csv(text, &HashSet::new()).unwrap_err();
        assert_eq!(missing[0].column, "parent_code");
        let known: HashSet<_> = [RegionCode::parse("4303").unwrap()].into();
        assert_eq!(parse_region_csv(text, &known).unwrap().len(), 1);
    }

    #[test]
    fn a_wrong_header_is_refused_before_any_row_is_read() {
        let problems = parse_region_csv("编码,名称\n43,湖南省\n", &HashSet::new()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 1);
    }
}
