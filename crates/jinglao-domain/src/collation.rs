//! Sorting Chinese names the way a clerk expects: by pinyin (拼音), tone as a tie-break, then
//! the characters themselves; letters and digits keep their own order. Used where a list is
//! sorted in memory (facilities, providers, staff); lists paged by the database keep their
//! indexed order.

use pinyin::ToPinyin;

/// The sort key of `text`: each Chinese character as its pinyin with the tone number
/// (王 → `wang2`), everything else lower-cased, separated by spaces.
pub fn pinyin_key(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for (ch, py) in text.chars().zip(text.to_pinyin()) {
        if !out.is_empty() {
            out.push(' ');
        }
        match py {
            Some(p) => out.push_str(p.with_tone_num_end()),
            None => out.extend(ch.to_lowercase()),
        }
    }
    out
}

/// Sorts `items` by the pinyin of `name`, then by the text itself (a stable, total order).
pub fn sort_by_pinyin<T>(items: &mut [T], name: impl Fn(&T) -> &str) {
    items.sort_by_cached_key(|t| {
        let n = name(t);
        (pinyin_key(n), n.to_string())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_pinyin_not_by_code_point() {
        let mut names = vec!["张敏", "安康护理院", "王秀英", "李明", "阿姨之家", "1号站"];
        sort_by_pinyin(&mut names, |n| n);
        assert_eq!(
            names,
            ["1号站", "阿姨之家", "安康护理院", "李明", "王秀英", "张敏"]
        );
        assert_eq!(pinyin_key("王"), "wang2");
    }
}
