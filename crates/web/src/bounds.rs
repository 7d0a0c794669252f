//! Bounds on the numbers a caller sends. Every page, offset, limit and count
//! parameter of every route goes through here, so a request's cost never grows
//! with a number it chose: out of range is a clear 400, never a clamp that hides
//! the mistake and never an allocation sized by the caller.

use crate::{ApiError, WebError};

/// How deep any list may be paged (offset + page size), like a search engine's
/// result window. Deeper reads use filters or the keyset cursors.
pub const MAX_WINDOW: i64 = 10_000;

fn bad(name: &'static str, detail: String) -> ApiError {
    WebError::BadParam { name, detail }.into()
}

/// A page size: `None` (or 0, the form default) gives `default`; otherwise 1..=`max`.
pub fn page_size(name: &'static str, given: Option<i64>, default: i64, max: i64) -> Result<i64, ApiError> {
    match given {
        None | Some(0) => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(bad(name, format!("应为 1 至 {max} / must be between 1 and {max}, not {n}"))),
    }
}

/// A 1-based page number (0 or none is the first page) as an offset, with the
/// page inside the window.
pub fn page_offset(name: &'static str, page: Option<i64>, size: i64) -> Result<i64, ApiError> {
    let page = page.unwrap_or(1).max(1);
    let last = MAX_WINDOW / size.max(1);
    if page > last {
        return Err(bad(name, format!("页码最大为 {last} / page must be at most {last}, not {page}; narrow the search instead")));
    }
    Ok((page - 1) * size)
}

/// A count the caller asks for (items, instances, lines…), within 1..=`max`.
pub fn count(name: &'static str, given: i64, max: i64) -> Result<i64, ApiError> {
    if (1..=max).contains(&given) {
        Ok(given)
    } else {
        Err(bad(name, format!("应为 1 至 {max} / must be between 1 and {max}, not {given}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_stay_inside_the_window() {
        assert_eq!(page_size("per_page", None, 20, 100).ok(), Some(20));
        assert_eq!(page_size("per_page", Some(0), 20, 100).ok(), Some(20));
        assert!(page_size("per_page", Some(101), 20, 100).is_err());
        assert!(page_size("per_page", Some(-1), 20, 100).is_err());
        assert_eq!(page_offset("page", None, 100).ok(), Some(0));
        assert_eq!(page_offset("page", Some(100), 100).ok(), Some(9_900));
        assert!(page_offset("page", Some(101), 100).is_err());
        assert!(page_offset("page", Some(i64::MAX), 1).is_err());
        assert_eq!(page_offset("page", Some(i64::MIN), 20).ok(), Some(0));
        assert!(count("n", 0, 10).is_err());
        assert!(count("n", 11, 10).is_err());
    }
}
