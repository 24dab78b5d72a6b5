//! Bulk import of older people (民政/户籍/医保 data exchange): the column layout, and turning a
//! table into validated records plus a report of every problem (line, column, value, reason).
//! The same [`ElderDraft::validate`] as the forms decides what is valid.

use std::collections::{BTreeSet, HashMap};

use crate::category::{CategoryDraft, CategoryInput, CategoryKind};
use crate::elder::{ContactDraft, ElderDraft, ElderInput, ValidationContext, split_multi};
use crate::region_import::RowProblem;
use crate::tabular::Table;

/// One column of the import file.
#[derive(Debug, Clone, Copy)]
pub struct ImportColumn {
    /// The header as it appears in the file.
    pub header: &'static str,
    /// The draft field it fills (`categories` and `categories_start` are handled apart).
    pub field: &'static str,
    /// Whether the column must be present.
    pub required: bool,
    /// An example value for the template.
    pub example: &'static str,
    /// What to write, for the template's instructions.
    pub help: &'static str,
}

/// The columns, in template order.
pub const IMPORT_COLUMNS: [ImportColumn; 23] = [
    ImportColumn {
        header: "姓名",
        field: "name",
        required: true,
        example: "王秀英",
        help: "必填",
    },
    ImportColumn {
        header: "身份证号",
        field: "id_number",
        required: true,
        example: "430302194403120028",
        help: "必填，18 位；Excel 中请把本列设为“文本”格式",
    },
    ImportColumn {
        header: "民族",
        field: "ethnicity",
        required: true,
        example: "汉族",
        help: "必填，如 汉族、土家族",
    },
    ImportColumn {
        header: "联系电话",
        field: "phones",
        required: false,
        example: "13807315678",
        help: "手机或带区号的固定电话，多个用“、”分隔",
    },
    ImportColumn {
        header: "户籍地区划代码",
        field: "hukou_region_code",
        required: true,
        example: "430302",
        help: "必填，县级 6 位或更细的区划代码",
    },
    ImportColumn {
        header: "居住地区划代码",
        field: "residence_region_code",
        required: true,
        example: "430302001001",
        help: "必填，村（社区）12 位区划代码",
    },
    ImportColumn {
        header: "居住地址",
        field: "address",
        required: false,
        example: "雨湖路12号3栋201",
        help: "",
    },
    ImportColumn {
        header: "经度",
        field: "longitude",
        required: false,
        example: "112.9076",
        help: "与纬度同时填写",
    },
    ImportColumn {
        header: "纬度",
        field: "latitude",
        required: false,
        example: "27.8631",
        help: "与经度同时填写",
    },
    ImportColumn {
        header: "居住情况",
        field: "living_arrangement",
        required: true,
        example: "独居",
        help: "独居、仅与配偶、与子女、与其他亲属、机构",
    },
    ImportColumn {
        header: "婚姻状况",
        field: "marital_status",
        required: true,
        example: "丧偶",
        help: "未婚、已婚、丧偶、离婚、未说明",
    },
    ImportColumn {
        header: "文化程度",
        field: "education",
        required: true,
        example: "小学",
        help: "文盲、小学、初中、高中/中专、大专及以上、不详",
    },
    ImportColumn {
        header: "经济来源",
        field: "income_sources",
        required: false,
        example: "退休金/养老金、子女补贴",
        help: "可多选，用“、”分隔",
    },
    ImportColumn {
        header: "医疗费用支付方式",
        field: "medical_payments",
        required: false,
        example: "城乡居民基本医疗保险",
        help: "可多选，用“、”分隔",
    },
    ImportColumn {
        header: "子女数",
        field: "children_count",
        required: false,
        example: "2",
        help: "0 到 20",
    },
    ImportColumn {
        header: "子女是否在本地",
        field: "children_local",
        required: false,
        example: "否",
        help: "是/否",
    },
    ImportColumn {
        header: "子女能否照料",
        field: "children_can_care",
        required: false,
        example: "是",
        help: "是/否",
    },
    ImportColumn {
        header: "紧急联系人",
        field: "contacts[0].name",
        required: false,
        example: "李军",
        help: "",
    },
    ImportColumn {
        header: "紧急联系人关系",
        field: "contacts[0].relation",
        required: false,
        example: "儿子",
        help: "",
    },
    ImportColumn {
        header: "紧急联系人电话",
        field: "contacts[0].phone",
        required: false,
        example: "13912345678",
        help: "",
    },
    ImportColumn {
        header: "特殊类别",
        field: "categories",
        required: false,
        example: "低保、空巢",
        help: "城市特困、农村特困（分散供养/集中供养）、低保、低保边缘、计生特殊家庭（失独/伤残）、残疾（一级至四级）、优抚对象、获得国家荣誉、空巢、留守；多个用“、”分隔",
    },
    ImportColumn {
        header: "类别起始日期",
        field: "categories_start",
        required: false,
        example: "2024-01-01",
        help: "填写了特殊类别时必填，年-月-日",
    },
    ImportColumn {
        header: "登记原因（未满60周岁）",
        field: "under_age_reason",
        required: false,
        example: "",
        help: "未满登记年龄时必填，如 计划生育特殊家庭（失独）",
    },
];

/// The header for a draft field name (for reporting).
pub fn header_for(field: &str) -> &'static str {
    IMPORT_COLUMNS
        .iter()
        .find(|c| c.field == field)
        .map(|c| c.header)
        .unwrap_or("")
}

/// A valid row.
#[derive(Debug, Clone)]
pub struct ImportRecord {
    /// Line in the file (the header is line 1).
    pub line: usize,
    /// The record.
    pub input: ElderInput,
    /// Categories to add.
    pub categories: Vec<CategoryInput>,
    /// The optional fields whose cells were empty (or whose columns the file lacks): for a
    /// person already on file they mean "no change", never "blank it" ([`ElderInput::keep_where_blank`]).
    pub blank: Vec<&'static str>,
}

/// The optional fields an import may leave empty, as [`ElderInput::keep_where_blank`] names them,
/// with the columns that hold them.
pub const KEEPABLE: [(&str, &[&str]); 9] = [
    ("phones", &["phones"]),
    ("address", &["address"]),
    ("location", &["longitude", "latitude"]),
    ("income_sources", &["income_sources"]),
    ("medical_payments", &["medical_payments"]),
    ("children_count", &["children_count"]),
    ("children_local", &["children_local"]),
    ("children_can_care", &["children_can_care"]),
    (
        "contacts",
        &[
            "contacts[0].name",
            "contacts[0].relation",
            "contacts[0].phone",
        ],
    ),
];

/// The outcome of reading a file.
#[derive(Debug, Clone, Default)]
pub struct ParsedImport {
    /// Valid rows.
    pub records: Vec<ImportRecord>,
    /// Every problem, by line.
    pub problems: Vec<RowProblem>,
    /// Lines with at least one problem.
    pub rejected_lines: BTreeSet<usize>,
    /// Data rows read (blank rows not counted).
    pub total_rows: usize,
    /// Headers not used (reported, not refused: exchange files often carry 序号 etc.).
    pub ignored_headers: Vec<String>,
    /// The header row as in the file (to write the rejected rows back out).
    pub header: Vec<String>,
    /// The data rows as in the file, by line (to write the rejected rows back out).
    pub raw_rows: Vec<(usize, Vec<String>)>,
}

/// Parses "低保、农村特困（分散供养）、重度残疾(一级)" into (label, detail) pairs.
fn split_categories(text: &str) -> Vec<(String, String)> {
    split_multi(text)
        .into_iter()
        .map(|part| {
            let part = part.replace('（', "(").replace('）', ")");
            match part.split_once('(') {
                Some((k, rest)) => (
                    k.trim().to_string(),
                    rest.trim_end_matches(')').trim().to_string(),
                ),
                None => (part.trim().to_string(), String::new()),
            }
        })
        .collect()
}

/// Reads a table into records and problems. Fails as a whole (with line-1 problems) when the
/// header lacks required columns.
pub fn parse_table(
    table: &Table,
    ctx: &ValidationContext<'_>,
) -> Result<ParsedImport, Vec<RowProblem>> {
    let Some(header) = table.rows.first() else {
        return Err(vec![file_problem("文件是空的")]);
    };
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    let mut ignored = Vec::new();
    for (i, h) in header.iter().enumerate() {
        match IMPORT_COLUMNS.iter().find(|c| c.header == h) {
            Some(c) => {
                if index.insert(c.field, i).is_some() {
                    return Err(vec![file_problem(&format!("表头“{h}”出现了两次"))]);
                }
            }
            None if h.is_empty() => {}
            None => ignored.push(h.clone()),
        }
    }
    let missing: Vec<&str> = IMPORT_COLUMNS
        .iter()
        .filter(|c| c.required && !index.contains_key(c.field))
        .map(|c| c.header)
        .collect();
    if !missing.is_empty() {
        return Err(vec![RowProblem {
            line: 1,
            column: String::new(),
            value: header.join(","),
            reason: format!("缺少必填列：{}。请使用页面上提供的模板", missing.join("、")),
        }]);
    }

    let mut out = ParsedImport {
        ignored_headers: ignored,
        header: header.clone(),
        ..Default::default()
    };
    let mut seen_ids: HashMap<String, usize> = HashMap::new();
    for (r, row) in table.rows.iter().enumerate().skip(1) {
        let line = r + 1;
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        out.total_rows += 1;
        out.raw_rows.push((line, row.clone()));
        let cell = |field: &str| -> String {
            index
                .get(field)
                .and_then(|&i| row.get(i))
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let mut problems = Vec::new();
        let mut push = |field: &str, value: String, reason: String| {
            problems.push(RowProblem {
                line,
                column: header_for(field).to_string(),
                value,
                reason,
            });
        };

        if let Some(&col) = index.get("id_number")
            && table.lossy_numbers.contains(&(r, col))
        {
            push(
                "id_number",
                cell("id_number"),
                "身份证号在 Excel 中被存成了数字，末几位已丢失；请把本列设为“文本”格式后重新录入"
                    .into(),
            );
        }

        let draft = ElderDraft {
            name: cell("name"),
            id_number: cell("id_number"),
            ethnicity: cell("ethnicity"),
            phones: cell("phones"),
            hukou_region_code: cell("hukou_region_code"),
            residence_region_code: cell("residence_region_code"),
            address: cell("address"),
            longitude: cell("longitude"),
            latitude: cell("latitude"),
            living_arrangement: cell("living_arrangement"),
            marital_status: cell("marital_status"),
            education: cell("education"),
            income_sources: cell("income_sources"),
            medical_payments: cell("medical_payments"),
            children_count: cell("children_count"),
            children_local: cell("children_local"),
            children_can_care: cell("children_can_care"),
            contacts: vec![ContactDraft {
                name: cell("contacts[0].name"),
                relation: cell("contacts[0].relation"),
                phone: cell("contacts[0].phone"),
            }],
            under_age_reason: cell("under_age_reason"),
        };
        let input = match draft.validate(ctx) {
            Ok(i) => Some(i),
            Err(inv) => {
                for e in inv.errors {
                    let value = cell(&e.field);
                    push(&e.field, value, e.message);
                }
                None
            }
        };

        let mut categories = Vec::new();
        let cats_text = cell("categories");
        if !cats_text.is_empty() {
            let start = cell("categories_start");
            for (kind, detail) in split_categories(&cats_text) {
                let d = CategoryDraft {
                    kind: kind.clone(),
                    detail,
                    start: start.clone(),
                    end: String::new(),
                    evidence: format!("批量导入（第 {line} 行）"),
                };
                match d.validate(ctx.today) {
                    Ok(c) => {
                        if !categories.iter().any(|x: &CategoryInput| x.kind == c.kind) {
                            categories.push(c);
                        }
                    }
                    Err(inv) => {
                        for e in inv.errors {
                            let (field, value) = if e.field == "start" {
                                ("categories_start", start.clone())
                            } else {
                                ("categories", kind.clone())
                            };
                            push(field, value, e.message);
                        }
                    }
                }
            }
        }

        if let Some(i) = &input
            && let Some(first) = seen_ids.insert(i.id_number.as_str().to_string(), line)
        {
            push(
                "id_number",
                i.id_number.masked(),
                format!("与第 {first} 行的身份证号重复"),
            );
        }

        if problems.is_empty()
            && let Some(input) = input
        {
            let blank = KEEPABLE
                .iter()
                .filter(|(_, cols)| cols.iter().all(|c| cell(c).is_empty()))
                .map(|(field, _)| *field)
                .collect();
            out.records.push(ImportRecord {
                line,
                input,
                categories,
                blank,
            });
        } else {
            out.rejected_lines.insert(line);
            out.problems.extend(problems);
        }
    }
    if out.total_rows == 0 {
        return Err(vec![file_problem("文件中没有数据行")]);
    }
    Ok(out)
}

fn file_problem(reason: &str) -> RowProblem {
    RowProblem {
        line: 1,
        column: String::new(),
        value: String::new(),
        reason: reason.to_string(),
    }
}

/// The template as CSV (UTF-8 with a byte-order mark, so Excel opens it correctly).
pub fn template_csv() -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(IMPORT_COLUMNS.iter().map(|c| c.header));
    let _ = w.write_record(IMPORT_COLUMNS.iter().map(|c| c.example));
    let body = String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default();
    format!("\u{feff}{body}")
}

/// The rejected rows as CSV, with the file's own columns and a last column of reasons.
pub fn rejected_csv(parsed: &ParsedImport) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = parsed.header.clone();
    header.push("错误原因".into());
    let _ = w.write_record(
        header
            .iter()
            .map(|c| crate::tabular::spreadsheet_safe(c).into_owned()),
    );
    for (line, row) in &parsed.raw_rows {
        if !parsed.rejected_lines.contains(line) {
            continue;
        }
        let reasons: Vec<String> = parsed
            .problems
            .iter()
            .filter(|p| p.line == *line)
            .map(|p| {
                if p.column.is_empty() {
                    p.reason.clone()
                } else {
                    format!("{}：{}", p.column, p.reason)
                }
            })
            .collect();
        let mut rec = row.clone();
        rec.resize(parsed.header.len(), String::new());
        rec.push(format!("第 {line} 行：{}", reasons.join("；")));
        let _ = w.write_record(
            rec.iter()
                .map(|c| crate::tabular::spreadsheet_safe(c).into_owned()),
        );
    }
    let body = String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default();
    format!("\u{feff}{body}")
}

/// A record as a row of the import file (the columns of [`IMPORT_COLUMNS`], in order): what
/// `jinglao gen elders` writes, and what reads back into the same record.
pub fn import_row(input: &ElderInput, categories: &[CategoryInput]) -> Vec<String> {
    let yes_no = |b: bool| if b { "是" } else { "否" }.to_string();
    let contact = input.contacts.first();
    IMPORT_COLUMNS
        .iter()
        .map(|c| match c.field {
            "name" => input.name.clone(),
            "id_number" => input.id_number.as_str().to_string(),
            "ethnicity" => input.ethnicity.to_string(),
            "phones" => input
                .phones
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join("、"),
            "hukou_region_code" => input.hukou_region.short().to_string(),
            "residence_region_code" => input.residence_region.to_string(),
            "address" => input.address.clone(),
            "longitude" => input.location.map(|l| l.0.to_string()).unwrap_or_default(),
            "latitude" => input.location.map(|l| l.1.to_string()).unwrap_or_default(),
            "living_arrangement" => input.living.label().to_string(),
            "marital_status" => input.marital.label().to_string(),
            "education" => input.education.label().to_string(),
            "income_sources" => input
                .income_sources
                .iter()
                .map(|v| v.label())
                .collect::<Vec<_>>()
                .join("、"),
            "medical_payments" => input
                .medical_payments
                .iter()
                .map(|v| v.label())
                .collect::<Vec<_>>()
                .join("、"),
            "children_count" => input.children_count.to_string(),
            "children_local" => yes_no(input.children_local),
            "children_can_care" => yes_no(input.children_can_care),
            "contacts[0].name" => contact.map(|c| c.name.clone()).unwrap_or_default(),
            "contacts[0].relation" => contact.map(|c| c.relation.clone()).unwrap_or_default(),
            "contacts[0].phone" => contact
                .map(|c| c.phone.as_str().to_string())
                .unwrap_or_default(),
            "categories" => categories
                .iter()
                .map(|c| match &c.detail {
                    Some(d) => format!("{}（{d}）", c.kind.label()),
                    None => c.kind.label().to_string(),
                })
                .collect::<Vec<_>>()
                .join("、"),
            "categories_start" => categories
                .iter()
                .map(|c| c.start)
                .min()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            "under_age_reason" => input.under_age_reason.clone().unwrap_or_default(),
            other => unreachable!("column {other} has no writer"),
        })
        .collect()
}

/// Every category label accepted in the 特殊类别 column.
pub fn category_labels() -> Vec<&'static str> {
    CategoryKind::ALL.iter().map(|k| k.label()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id_number::ResidentId;
    use crate::region::{Region, RegionCode, RegionLevel};
    use crate::region_tree::RegionTree;
    use crate::tabular::read_table;
    use chrono::NaiveDate;

    fn tree() -> RegionTree {
        let mk = |c: &str, l: RegionLevel| Region {
            code: RegionCode::parse(c).unwrap(),
            name: c.into(),
            level: l,
            parent_code: RegionCode::parse(c).unwrap().parent(),
            area_type: None,
            area_type_manual: false,
            source: String::new(),
        };
        RegionTree::new(vec![
            mk("43", RegionLevel::Province),
            mk("4303", RegionLevel::City),
            mk("430302", RegionLevel::County),
            mk("430302001", RegionLevel::Township),
            mk("430302001001", RegionLevel::Village),
        ])
    }

    fn ctx(t: &RegionTree) -> ValidationContext<'_> {
        ValidationContext {
            regions: t,
            today: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            min_age: 60,
        }
    }

    fn id(n: u32) -> String {
        ResidentId::from_first17(&format!("43030219440312{n:03}"))
            .as_str()
            .to_string()
    }

    #[test]
    fn the_template_reads_back_as_one_valid_row() {
        let t = tree();
        let mut csv = template_csv();
        csv = csv.replace("430302194403120028", &id(2));
        let parsed = parse_table(&read_table(csv.as_bytes()).unwrap(), &ctx(&t)).unwrap();
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        assert_eq!(parsed.records.len(), 1);
        let r = &parsed.records[0];
        assert_eq!(r.line, 2);
        assert_eq!(r.categories.len(), 2);
        assert_eq!(r.input.contacts[0].name, "李军");
    }

    #[test]
    fn each_problem_names_line_column_value_and_reason() {
        let t = tree();
        let header = IMPORT_COLUMNS.map(|c| c.header).join(",");
        let good = |n: u32| {
            format!(
                "张{},{},汉族,,430302,430302001001,,,,独居,已婚,小学,,,,,,,,,,,",
                ["一", "二", "三"][n as usize % 3],
                id(n)
            )
        };
        let text = format!(
            "{header}\n{}\n王五,110105194912310021,汉族,,430302,430302001001,,,,独居,已婚,小学,,,,,,,,,,,\n{}\n,,,,,,,,,,,,,,,,,,,,,,\n李四,{},汉族,,430399,430302001001,,,,独居,已婚,博士,,,,,,,,,低保,,\n",
            good(1),
            good(1),
            id(3),
        );
        let parsed = parse_table(&read_table(text.as_bytes()).unwrap(), &ctx(&t)).unwrap();
        assert_eq!(parsed.total_rows, 4, "the blank row is skipped");
        assert_eq!(parsed.records.len(), 1);
        let summary: Vec<(usize, &str)> = parsed
            .problems
            .iter()
            .map(|p| (p.line, p.column.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (3, "身份证号"),
                (4, "身份证号"),
                (6, "户籍地区划代码"),
                (6, "文化程度"),
                (6, "类别起始日期"),
            ]
        );
        assert!(parsed.problems[0].reason.contains("校验位"));
        assert!(parsed.problems[1].reason.contains("第 2 行"));
        assert_eq!(parsed.problems[2].value, "430399");
        let rejected = rejected_csv(&parsed);
        assert_eq!(
            rejected.lines().count(),
            4,
            "header and three rejected rows"
        );
        assert!(rejected.contains("第 6 行：户籍地区划代码：区划代码 430399 不存在"));
    }

    #[test]
    fn a_rejected_row_typed_as_a_formula_comes_back_as_text() {
        let t = tree();
        let header = IMPORT_COLUMNS.map(|c| c.header).join(",");
        let text = format!(
            "{header}\n=HYPERLINK(\"http://evil\"),1,汉族,,430302,430302001001,,,,独居,已婚,小学,,,,,,,,,,,\n"
        );
        let parsed = parse_table(&read_table(text.as_bytes()).unwrap(), &ctx(&t)).unwrap();
        let rejected = rejected_csv(&parsed);
        let row = rejected.lines().nth(1).unwrap();
        assert!(row.starts_with("\"'=HYPERLINK"), "{row}");
    }

    #[test]
    fn missing_required_columns_refuse_the_whole_file() {
        let t = tree();
        let problems = parse_table(
            &read_table("姓名,身份证号\n王,1\n".as_bytes()).unwrap(),
            &ctx(&t),
        )
        .unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].reason.contains("民族"));
        assert!(problems[0].reason.contains("居住地区划代码"));
    }

    #[test]
    fn categories_carry_their_detail_in_brackets() {
        assert_eq!(
            split_categories("低保、农村特困（分散供养）、重度残疾(一级)"),
            vec![
                ("低保".to_string(), String::new()),
                ("农村特困".to_string(), "分散供养".to_string()),
                ("重度残疾".to_string(), "一级".to_string()),
            ]
        );
    }
}
