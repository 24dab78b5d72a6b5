//! Paging for every long list: "共 N 条，第 p / P 页", numbered page links with gaps
//! ("1 … 4 5 6 … 20"), previous and next. The links keep the list's other filters, so a clerk
//! pages through exactly what was filtered.

/// One link of the pager; `None` for a gap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageLink {
    /// The page number, or `None` for "…".
    pub number: Option<i64>,
    /// Where it goes.
    pub href: String,
    /// Whether it is the page shown.
    pub current: bool,
}

/// Where a list is: which page, how many per page, how many in all.
#[derive(Debug, Clone)]
pub struct Pager {
    /// The page shown, from 1.
    pub page: i64,
    /// Rows per page.
    pub per_page: i64,
    /// Rows in all (after filtering).
    pub total: i64,
    /// The list's address without `page` (path and query, query may be empty).
    base: String,
    /// Where on the page the list is (`#beds`), for a list below others; empty for none.
    fragment: String,
}

impl Pager {
    /// A pager for `total` rows, `per_page` at a time, showing `page` (clamped to the range),
    /// whose links are `base` plus `page=`.
    pub fn new(page: i64, per_page: i64, total: i64, base: impl Into<String>) -> Self {
        let per_page = per_page.max(1);
        let pages = ((total + per_page - 1) / per_page).max(1);
        Pager {
            page: page.clamp(1, pages),
            per_page,
            total,
            base: base.into(),
            fragment: String::new(),
        }
    }

    /// The same pager whose links land at the element `id` (a list further down a page).
    pub fn anchored(mut self, id: &str) -> Self {
        self.fragment = format!("#{id}");
        self
    }

    /// Rows to skip for this page.
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }

    /// The rows of this page out of every row of a list paged in memory.
    pub fn page_of<T: Clone>(&self, all: &[T]) -> Vec<T> {
        let from = (self.offset().max(0) as usize).min(all.len());
        let to = (from + self.per_page as usize).min(all.len());
        all[from..to].to_vec()
    }

    /// The number of pages (at least 1).
    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }

    /// The address of page `n`.
    pub fn href(&self, n: i64) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}page={n}{}", self.base, self.fragment)
    }

    /// The previous page's address, if any.
    pub fn prev(&self) -> Option<String> {
        (self.page > 1).then(|| self.href(self.page - 1))
    }

    /// The next page's address, if any.
    pub fn next(&self) -> Option<String> {
        (self.page < self.pages()).then(|| self.href(self.page + 1))
    }

    /// The first, the last, and two either side of the current page, with gaps between.
    pub fn links(&self) -> Vec<PageLink> {
        let last = self.pages();
        let mut out: Vec<PageLink> = Vec::new();
        let mut previous = 0;
        for n in 1..=last {
            let near = (n - self.page).abs() <= 2;
            if n != 1 && n != last && !near {
                continue;
            }
            if n > previous + 1 {
                out.push(PageLink {
                    number: None,
                    href: String::new(),
                    current: false,
                });
            }
            out.push(PageLink {
                number: Some(n),
                href: self.href(n),
                current: n == self.page,
            });
            previous = n;
        }
        out
    }

    /// The rows shown, "21–40", for the summary line.
    pub fn range(&self) -> String {
        if self.total == 0 {
            return "0".into();
        }
        let first = self.offset() + 1;
        let last = (self.offset() + self.per_page).min(self.total);
        format!("{first}–{last}")
    }
}

/// A query string of the non-empty pairs, for a pager's base address.
pub fn query_of(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        q.append_pair(k, v);
    }
    let q = q.finish();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{q}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(p: &Pager) -> Vec<Option<i64>> {
        p.links().into_iter().map(|l| l.number).collect()
    }

    #[test]
    fn a_long_list_shows_the_ends_and_the_pages_around_the_current_one_with_gaps() {
        let p = Pager::new(10, 50, 907, "/patrols?under=430302");
        assert_eq!(p.pages(), 19);
        assert_eq!(
            numbers(&p),
            [
                Some(1),
                None,
                Some(8),
                Some(9),
                Some(10),
                Some(11),
                Some(12),
                None,
                Some(19)
            ]
        );
        assert_eq!(p.href(2), "/patrols?under=430302&page=2");
        assert_eq!(p.range(), "451–500");
        assert_eq!(p.offset(), 450);
    }

    #[test]
    fn a_page_past_the_end_shows_the_last_page_and_an_empty_list_has_one_page() {
        let p = Pager::new(99, 50, 120, "/facilities");
        assert_eq!((p.page, p.pages()), (3, 3));
        assert_eq!(p.range(), "101–120");
        assert!(p.next().is_none());
        assert_eq!(p.prev().as_deref(), Some("/facilities?page=2"));
        let empty = Pager::new(1, 50, 0, "/x");
        assert_eq!((empty.pages(), empty.range()), (1, "0".to_string()));
        assert_eq!(numbers(&empty), [Some(1)]);
    }

    #[test]
    fn the_base_address_keeps_only_the_filters_in_use() {
        assert_eq!(
            query_of("/p", &[("a", ""), ("b", "雨湖")]),
            "/p?b=%E9%9B%A8%E6%B9%96"
        );
        assert_eq!(query_of("/p", &[("a", "")]), "/p");
    }
}
