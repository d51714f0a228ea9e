//! `MaxItems` and `Marker` paging of Lambda's List operations: [`Page`]
//! reads both from the query string, with the operation's bounds and
//! AWS's validation error, and cuts a listing ordered by key into one page
//! and the `NextMarker` after it (the last key on the page, when more
//! follow).

use crate::error::ApiError;

/// One page asked for: at most `max_items`, after `marker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page<'q> {
    /// How many items the page holds at most.
    pub max_items: usize,
    /// The key the page starts after, if any.
    pub marker: Option<&'q str>,
}

impl<'q> Page<'q> {
    /// `MaxItems` (1 to `max`, `default` when absent) and `Marker` of
    /// `query`; a `MaxItems` out of bounds or not a number is refused with
    /// the ValidationException Lambda answers.
    pub(crate) fn from_query(
        query: &'q [(String, String)],
        default: usize,
        max: usize,
    ) -> Result<Self, ApiError> {
        let parameter = |name: &str| {
            query
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let max_items = match parameter("MaxItems") {
            None => default,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    return Err(ApiError::validation(format!(
                        "1 validation error detected: Value '{text}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and {max}"
                    )));
                }
            },
        };
        Ok(Self {
            max_items,
            marker: parameter("Marker"),
        })
    }

    /// The page with at most `cap` items, for operations that answer no
    /// more per call whatever `MaxItems` asks for.
    pub(crate) fn at_most(self, cap: usize) -> Self {
        Self {
            max_items: self.max_items.min(cap),
            ..self
        }
    }

    /// The page of `items` (in increasing key order) after the marker, and
    /// the marker of the next page: the last key taken, when an item
    /// follows it.
    pub(crate) fn take<K: AsRef<str>, T>(
        &self,
        items: impl IntoIterator<Item = (K, T)>,
    ) -> (Vec<T>, Option<K>) {
        let mut page = Vec::new();
        let mut last = None;
        for (key, item) in items {
            if self.marker.is_some_and(|m| key.as_ref() <= m) {
                continue;
            }
            if page.len() == self.max_items {
                return (page, last);
            }
            page.push(item);
            last = Some(key);
        }
        (page, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages `keys` with the query `MaxItems`/`Marker` given (bounds 1..=3,
    /// default 2), as `page | next marker` or the error.
    fn check(max_items: Option<&str>, marker: Option<&str>, expect: expect_test::Expect) {
        let query: Vec<(String, String)> = [("MaxItems", max_items), ("Marker", marker)]
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name.to_owned(), v.to_owned())))
            .collect();
        let keys = ["$LATEST", "a", "b", "c", "d"];
        let actual = match Page::from_query(&query, 2, 3) {
            Ok(page) => {
                let (items, next) = page.take(keys.iter().map(|k| (*k, k.to_uppercase())));
                format!("{} | {}", items.join(","), next.unwrap_or("-"))
            }
            Err(error) => error.to_string(),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn pages_follow_the_marker_and_the_bounds() {
        check(None, None, expect_test::expect!["$LATEST,A | a"]);
        check(None, Some("a"), expect_test::expect!["B,C | c"]);
        check(Some("3"), Some("b"), expect_test::expect!["C,D | -"]);
        check(Some("1"), Some("d"), expect_test::expect![" | -"]);
        check(
            Some("3"),
            Some("$LATEST"),
            expect_test::expect!["A,B,C | c"],
        );
        check(
            Some("0"),
            None,
            expect_test::expect![
                "ValidationException: 1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 3"
            ],
        );
        check(
            Some("4"),
            None,
            expect_test::expect![
                "ValidationException: 1 validation error detected: Value '4' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 3"
            ],
        );
        check(
            Some("-1"),
            None,
            expect_test::expect![
                "ValidationException: 1 validation error detected: Value '-1' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 3"
            ],
        );
    }
}
