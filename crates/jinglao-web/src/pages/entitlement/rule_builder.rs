//! The rule builder on the service-list form (issue 17, point 9): under each item's rule, a
//! folded set of condition rows picked from lists (`jinglao_domain::rules::builder`), joined by
//! 并且 or 或者, and a 「生成条件并预览」 button. Pressing it (a plain form submit, no script)
//! writes the generated text into the item's rule box and shows, before anything is published,
//! the rule in plain Chinese, how many people of the clerk's area it takes in today and a few
//! of them by name. The text box stays for power users; both show the same plain sentence.

use jinglao_db::audit::{self, Event};
use jinglao_domain::rules::Rule;
use jinglao_domain::rules::builder::{self, AGES, BUILDER_FACTS, Join, Kind, Row};
use jinglao_domain::{Invalid, RegionCode};
use serde_json::json;

use crate::auth::CurrentUser;
use crate::error::PageError;
use crate::request::RequestMeta;
use crate::state::AppState;

/// Condition rows shown per item.
pub const ROWS: usize = 4;

/// People named in a preview.
const SAMPLE: usize = 10;

/// One item's builder as the form holds it.
#[derive(Debug, Clone, Default)]
pub struct BuilderView {
    /// `all` (并且) or `any` (或者).
    pub join: String,
    /// The rows ([`ROWS`] of them).
    pub rows: Vec<Row>,
    /// Whether to show it unfolded (it was used).
    pub open: bool,
}

impl BuilderView {
    /// An empty builder.
    pub fn empty() -> Self {
        BuilderView {
            join: "all".into(),
            rows: vec![Row::default(); ROWS],
            open: false,
        }
    }

    /// Sets `field` of row `n` (`fact`, `op`, `value`) or the join, from a form key's tail
    /// after `items[i].builder`: `_join` or `[n].field`.
    pub fn set(&mut self, tail: &str, value: String) {
        if tail == "_join" {
            self.join = value;
            return;
        }
        let Some((n, field)) = tail.strip_prefix('[').and_then(|t| t.split_once("].")) else {
            return;
        };
        let Ok(n) = n.parse::<usize>() else { return };
        if n >= ROWS {
            return;
        }
        let row = &mut self.rows[n];
        match field {
            "fact" => row.fact = value,
            "op" => row.op = value,
            "value" => row.value = value,
            _ => {}
        }
    }

    /// Whether any row was filled in.
    pub fn used(&self) -> bool {
        self.rows.iter().any(|r| !r.fact.trim().is_empty())
    }

    fn join(&self) -> Join {
        if self.join == "any" {
            Join::Any
        } else {
            Join::All
        }
    }
}

/// What the form's selects offer.
pub struct Choices {
    /// (fact name, label).
    pub facts: Vec<(&'static str, &'static str)>,
    /// (operator, words).
    pub ops: &'static [(&'static str, &'static str)],
    /// Value groups: (label, values).
    pub values: Vec<(&'static str, Vec<&'static str>)>,
}

impl Choices {
    /// Every fact, comparison and listed value.
    pub fn all() -> Self {
        let mut values: Vec<(&'static str, Vec<&'static str>)> =
            vec![("年龄（岁）", AGES.to_vec())];
        for f in BUILDER_FACTS {
            if matches!(f.kind, Kind::Category | Kind::Choice) {
                values.push((f.label, builder::values(f)));
            }
        }
        Choices {
            facts: BUILDER_FACTS.iter().map(|f| (f.name, f.label)).collect(),
            ops: builder::ALL_OPERATORS,
            values,
        }
    }
}

/// A preview of item `index`'s rule.
#[derive(Debug, Clone)]
pub struct Preview {
    /// The item's position on the form.
    pub index: usize,
    /// The rule in plain Chinese.
    pub plain: String,
    /// How many people of the area it takes in today.
    pub count: usize,
    /// Some of them: (name, place).
    pub sample: Vec<(String, String)>,
    /// The area counted.
    pub area: String,
}

/// The rule in plain Chinese, if the text parses.
pub fn plain_of(state: &AppState, text: &str) -> Option<String> {
    let tree = state.regions.tree();
    Rule::parse(text).ok().map(|r| r.describe(&*tree))
}

/// Builds item `index`'s rule from its builder (if used; the text box otherwise), and previews
/// it over the clerk's area for a list of `list_region`. Returns the rule text to put in the
/// box and the preview, or the errors naming the builder row or the rule box. Audited: the
/// preview names people (`service_list.preview`).
pub async fn preview(
    state: &AppState,
    user: &CurrentUser,
    meta: &RequestMeta,
    index: usize,
    builder: &BuilderView,
    typed: &str,
    list_region: &RegionCode,
) -> Result<Result<(String, Preview), Invalid>, PageError> {
    let prefix = format!("items[{index}].builder");
    let text = if builder.used() {
        match builder::build(builder.join(), &builder.rows, &prefix) {
            Ok(t) => t,
            Err(inv) => return Ok(Err(inv)),
        }
    } else {
        typed.trim().to_string()
    };
    let rule = match Rule::parse(&text) {
        Ok(r) => r,
        Err(e) => {
            return Ok(Err(Invalid::one(
                &format!("items[{index}].target_rule"),
                e.to_string(),
            )));
        }
    };
    let root = user
        .scope
        .region_root()
        .filter(|r| !r.contains(list_region))
        .unwrap_or(*list_region);
    let today = state.today();
    let book = jinglao_db::policy::book(&state.db).await?;
    let mut c = state.db.acquire().await?;
    let (count, ids) = jinglao_db::eligibility::preview(
        &mut c.conn(),
        &root,
        &rule,
        list_region,
        today,
        &book,
        SAMPLE,
    )
    .await?;
    let mut sample = Vec::new();
    for id in ids {
        if let Some(e) = jinglao_db::elders::get(&mut c.conn(), &user.scope, id).await? {
            sample.push((e.name, state.region_path(&e.residence_region)));
        }
    }
    drop(c);
    let mut event = Event::new("service_list.preview", "service_list", "preview")
        .region(Some(root))
        .detail(json!({ "rule": text, "count": count, "named": sample.len() }));
    event.record_id = None;
    audit::record(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(meta),
        event,
        state.clock.now(),
    )
    .await?;
    let tree = state.regions.tree();
    Ok(Ok((
        text,
        Preview {
            index,
            plain: rule.describe(&*tree),
            count,
            sample,
            area: state.region_path(&root),
        },
    )))
}
