//! An audit entry's detail (stored as JSON, byte for byte, for the hash chain) read as
//! sentences a clerk or an auditor understands: field by field (「地址：雨湖路 1 号 → 雨湖路 3 号」),
//! keys in Chinese, ids as the names of what they point at, region codes as region names, item
//! codes as item names, money in yuan, and the browser's user-agent string left out.

use std::collections::HashMap;

use serde_json::Value;
use uuid::Uuid;

use crate::state::AppState;

/// What a detail's key means.
const KEY_LABELS: &[(&str, &str)] = &[
    ("reason", "原因"),
    ("budget_fen", "预算（分）"),
    ("mode", "购买方式"),
    ("bid_deadline", "投标截止时间"),
    ("providers", "承接主体"),
    ("evaluator", "评审专家"),
    ("scores", "评分"),
    ("contract", "合同"),
    ("contract_no", "合同编号"),
    ("ceiling_fen", "合同金额（分）"),
    ("prices", "单价条数"),
    ("filed_on", "备案日期"),
    ("entries", "目录条目数"),
    ("price_fen", "报价（分）"),
    ("qualified", "资格审查通过"),
    ("gaps", "不符合的条件"),
    ("bid", "投标"),
    ("area_type", "城乡类型"),
    ("display_name", "姓名"),
    ("region_code", "辖区"),
    ("active", "启用"),
    ("from", "原状态"),
    ("to", "新状态"),
    ("was", "原值"),
    ("name", "姓名"),
    ("kind", "类别"),
    ("version", "版本"),
    ("username", "用户名"),
    ("status", "状态"),
    ("region", "区划"),
    ("note", "备注"),
    ("item", "服务项目"),
    ("id_number", "身份证号"),
    ("month", "月份"),
    ("file", "文件"),
    ("line", "行号"),
    ("via", "方式"),
    ("channel", "渠道"),
    ("text", "说明"),
    ("role", "角色"),
    ("title", "标题"),
    ("provider", "服务机构"),
    ("provider_id", "服务机构"),
    ("facility_id", "设施"),
    ("elder_id", "老年人"),
    ("staff", "人员"),
    ("caregiver", "护理员"),
    ("order", "工单"),
    ("plan", "服务计划"),
    ("application", "申请"),
    ("decision", "决定"),
    ("deadline", "时限"),
    ("on", "日期"),
    ("end", "截止"),
    ("effective", "生效"),
    ("skills", "技能"),
    ("previous", "原值"),
    ("total_fen", "金额"),
    ("unit_fen", "单价"),
    ("price", "价格"),
    ("hours", "小时"),
    ("phone", "电话"),
    ("category", "类别"),
    ("credit_code", "统一社会信用代码"),
    ("bed", "床位"),
    ("room", "房间"),
    ("floor", "楼层"),
    ("serial", "编号"),
    ("requested_level", "申请等级"),
    ("granted", "评定等级"),
    ("sessions_ended", "结束的会话数"),
    ("orders_cancelled", "取消的工单数"),
    ("refused", "拒绝"),
    ("failed", "失败"),
    ("large_print", "大字模式"),
    ("count", "数量"),
    ("batch", "同批人数"),
    ("try", "第几次输错"),
    ("of", "可输次数"),
    ("named", "列出人数"),
    ("document", "文书"),
    ("rule", "条件"),
    ("warnings", "只看不达标"),
    ("shown", "显示条数"),
    ("rows", "行数"),
    ("inserted", "新增"),
    ("updated", "更新"),
    ("unchanged", "未变"),
    ("checked", "已核对"),
    ("discharged_on", "退住日期"),
    ("done_on", "完成日期"),
    ("basis", "依据"),
    ("start_on", "开始日期"),
    ("key", "参数"),
    ("value", "值"),
    ("score", "评分"),
];

/// Keys never shown: the browser's self-description says nothing an auditor needs and much
/// that clutters.
const HIDDEN_KEYS: &[&str] = &["user_agent"];

/// Stable names of kinds and statuses that details store, in words.
fn word(v: &str) -> Option<&'static str> {
    Some(match v {
        "import" => "批量导入",
        "web" => "网页",
        "api" => "接口",
        "public" => "公众自助",
        "staff" => "工作人员代办",
        "cli" => "命令行",
        "urban" => "城镇",
        "rural" => "农村",
        "active" => "有效",
        "ended" => "已结束",
        "draft" => "待确认",
        "confirmed" => "已确认",
        "disputed" => "有异议",
        "approved" => "已审核",
        "paid" => "已拨付",
        "booked" => "已预约",
        "done" => "已服务",
        "cancelled" => "已取消",
        "exception" => "待核查",
        "accepted" => "核查通过",
        "rejected" => "不予通过",
        "verified" => "核验通过",
        "in_progress" => "服务中",
        "submitted" => "待初审",
        "returned" => "退回补正",
        "village_approved" => "待审定",
        "in_notice" => "公示中",
        "effective" => "已生效",
        "appealed" => "复核中",
        "withdrawn" => "已撤回",
        "free" => "空闲",
        "occupied" => "已入住",
        "reserved" => "预留",
        "out_of_service" => "停用",
        _ => return None,
    })
}

/// The names the details of a page of entries point at, looked up once per page.
pub struct Names {
    /// Record names by id (people, providers, facilities, staff, accounts).
    pub by_id: HashMap<Uuid, String>,
    /// Item names by code.
    pub items: jinglao_domain::service_list::ItemNames,
}

/// Every UUID a detail holds (to look their names up).
pub fn ids_in(v: &Value, out: &mut Vec<Uuid>) {
    match v {
        Value::String(s) => {
            if let Ok(id) = Uuid::parse_str(s) {
                out.push(id);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| ids_in(x, out)),
        Value::Object(o) => o.values().for_each(|x| ids_in(x, out)),
        _ => {}
    }
}

/// The detail as lines of plain Chinese.
pub fn lines(state: &AppState, names: &Names, detail: &str) -> Vec<String> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(detail) else {
        return if detail.trim().is_empty() || detail.trim() == "{}" {
            Vec::new()
        } else {
            vec![detail.to_string()]
        };
    };
    let mut out = Vec::new();
    for (key, value) in &map {
        if HIDDEN_KEYS.contains(&key.as_str()) || value.is_null() {
            continue;
        }
        if key == "changes"
            && let Value::Array(changes) = value
        {
            for c in changes {
                let field = c["field"].as_str().unwrap_or_default();
                let change = jinglao_domain::elder::FieldChange {
                    field: field.to_string(),
                    from: plain(state, names, "", &c["from"]),
                    to: plain(state, names, "", &c["to"]),
                };
                let c = super::named::change(state, &change);
                let from = if c.from.is_empty() {
                    "（空）"
                } else {
                    &c.from
                };
                let to = if c.to.is_empty() { "（空）" } else { &c.to };
                out.push(format!("{}：{from} → {to}", c.field));
            }
            continue;
        }
        let label = KEY_LABELS
            .iter()
            .find(|(k, _)| k == key)
            .map_or(key.as_str(), |(_, l)| l);
        // A field's change stored as {"from": …, "to": …}.
        if let Value::Object(o) = value
            && o.len() == 2
            && o.contains_key("from")
            && o.contains_key("to")
        {
            let from = plain(state, names, key, &o["from"]);
            let to = plain(state, names, key, &o["to"]);
            out.push(format!("{label}：{from} → {to}"));
            continue;
        }
        out.push(format!("{label}：{}", plain(state, names, key, value)));
    }
    out
}

/// One value in words.
fn plain(state: &AppState, names: &Names, key: &str, v: &Value) -> String {
    match v {
        Value::Null => "（空）".into(),
        Value::Bool(b) => if *b { "是" } else { "否" }.into(),
        Value::Number(n) if key.ends_with("_fen") => n
            .as_i64()
            .map(|f| format!("{} 元", jinglao_domain::settlement::yuan(f)))
            .unwrap_or_else(|| n.to_string()),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            if let Ok(id) = Uuid::parse_str(s) {
                return names
                    .by_id
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| "（记录）".into());
            }
            if let Some(w) = word(s) {
                return w.into();
            }
            if key == "region"
                && let Ok(code) = jinglao_domain::RegionCode::parse(s)
            {
                return state.region_path(&code);
            }
            if key == "item" {
                return names.items.name(s).to_string();
            }
            if key == "role"
                && let Ok(r) = s.parse::<jinglao_domain::Role>()
            {
                return r.label().into();
            }
            s.clone()
        }
        Value::Array(a) => a
            .iter()
            .map(|x| plain(state, names, key, x))
            .collect::<Vec<_>>()
            .join("、"),
        Value::Object(o) => o
            .iter()
            .filter(|(k, _)| !HIDDEN_KEYS.contains(&k.as_str()))
            .map(|(k, x)| {
                let label = KEY_LABELS
                    .iter()
                    .find(|(kk, _)| kk == k)
                    .map_or(k.as_str(), |(_, l)| l);
                format!("{label} {}", plain(state, names, k, x))
            })
            .collect::<Vec<_>>()
            .join("，"),
    }
}
