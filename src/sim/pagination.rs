//! Page math for list endpoints: `page` from 1, `per_page` default 25, max 50,
//! the `meta.pagination` object and the `Link` header.

use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};

pub const DEFAULT_PER_PAGE: usize = 25;
pub const MAX_PER_PAGE: usize = 50;

/// Which slice of a list a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: usize,
    pub per_page: usize,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl PageRequest {
    /// From the raw query values; `per_page` above the maximum is clamped like
    /// the real API does, non-numbers and zero are `invalid_input`.
    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> ApiResult<Self> {
        let num = |field: &str, v: Option<&str>, default: usize| -> ApiResult<usize> {
            match v {
                None => Ok(default),
                Some(s) => match s.parse::<usize>() {
                    Ok(n) if n >= 1 => Ok(n),
                    _ => Err(ApiError::invalid_field(
                        field,
                        format!("'{s}' is not a positive integer"),
                    )),
                },
            }
        };
        Ok(PageRequest {
            page: num("page", page, 1)?,
            per_page: num("per_page", per_page, DEFAULT_PER_PAGE)?.min(MAX_PER_PAGE),
        })
    }
}

/// The outcome of paging `total` items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: usize,
    pub per_page: usize,
    pub total_entries: usize,
    pub last_page: usize,
}

impl Page {
    pub fn of(req: PageRequest, total_entries: usize) -> Self {
        let last_page = total_entries.div_ceil(req.per_page).max(1);
        Page {
            page: req.page,
            per_page: req.per_page,
            total_entries,
            last_page,
        }
    }

    /// Index range of this page within the full list (empty past the end).
    pub fn range(&self) -> std::ops::Range<usize> {
        let start = ((self.page - 1) * self.per_page).min(self.total_entries);
        let end = (start + self.per_page).min(self.total_entries);
        start..end
    }

    pub fn previous_page(&self) -> Option<usize> {
        (self.page > 1).then(|| (self.page - 1).min(self.last_page))
    }

    pub fn next_page(&self) -> Option<usize> {
        (self.page < self.last_page).then_some(self.page + 1)
    }

    pub fn meta(&self) -> Value {
        json!({"pagination": {
            "page": self.page,
            "per_page": self.per_page,
            "previous_page": self.previous_page(),
            "next_page": self.next_page(),
            "last_page": self.last_page,
            "total_entries": self.total_entries,
        }})
    }

    /// RFC 8288 `Link` header value; `url_for(page)` builds each target.
    pub fn link_header(&self, url_for: impl Fn(usize) -> String) -> String {
        let mut links = Vec::new();
        if let Some(p) = self.previous_page() {
            links.push(format!("<{}>; rel=\"prev\"", url_for(p)));
        }
        if let Some(p) = self.next_page() {
            links.push(format!("<{}>; rel=\"next\"", url_for(p)));
        }
        links.push(format!("<{}>; rel=\"last\"", url_for(self.last_page)));
        links.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_clamping() {
        assert_eq!(
            PageRequest::parse(None, None).unwrap(),
            PageRequest {
                page: 1,
                per_page: 25
            }
        );
        assert_eq!(
            PageRequest::parse(Some("3"), Some("500")).unwrap().per_page,
            50
        );
        assert_eq!(
            PageRequest::parse(Some("0"), None).unwrap_err().code,
            "invalid_input"
        );
        assert_eq!(
            PageRequest::parse(None, Some("x")).unwrap_err().code,
            "invalid_input"
        );
    }

    #[test]
    fn page_math_over_121_items() {
        let req = PageRequest {
            page: 1,
            per_page: 50,
        };
        let p = Page::of(req, 121);
        assert_eq!(p.last_page, 3);
        assert_eq!(p.range(), 0..50);
        assert_eq!((p.previous_page(), p.next_page()), (None, Some(2)));
        let p3 = Page::of(
            PageRequest {
                page: 3,
                per_page: 50,
            },
            121,
        );
        assert_eq!(p3.range(), 100..121);
        assert_eq!((p3.previous_page(), p3.next_page()), (Some(2), None));
        let past = Page::of(
            PageRequest {
                page: 9,
                per_page: 50,
            },
            121,
        );
        assert!(past.range().is_empty());
        assert_eq!(past.previous_page(), Some(3));
    }

    #[test]
    fn empty_list_has_one_page() {
        let p = Page::of(PageRequest::default(), 0);
        assert_eq!(p.last_page, 1);
        assert_eq!(p.next_page(), None);
        assert!(p.range().is_empty());
        let m = p.meta();
        assert_eq!(m["pagination"]["total_entries"], 0);
        assert!(m["pagination"]["next_page"].is_null());
    }

    #[test]
    fn link_header_lists_prev_next_last() {
        let p = Page::of(
            PageRequest {
                page: 2,
                per_page: 10,
            },
            35,
        );
        let h = p.link_header(|n| format!("http://x/v1/servers?page={n}&per_page=10"));
        assert_eq!(
            h,
            "<http://x/v1/servers?page=1&per_page=10>; rel=\"prev\", \
             <http://x/v1/servers?page=3&per_page=10>; rel=\"next\", \
             <http://x/v1/servers?page=4&per_page=10>; rel=\"last\""
        );
    }
}
