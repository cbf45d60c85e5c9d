//! `label=`: only the rows with the given labels come back (Matomo's
//! `core/API/DataTableManipulator/LabelFilter.php`, run by `DataTablePostProcessor::process`
//! after the generic filters and the column deletion, before metric formatting).
//!
//! Matomo's rules kept here:
//! - One label per `label=`; several with `label[]=a&label[]=b`, answered in the order asked.
//!   `label=a,b` is the one label `a,b`: `DataTablePostProcessor::getLabelFromRequest` splits
//!   nothing (only `API.getRowEvolution` splits on commas).
//! - A label is trimmed and URL-decoded once more (clients send it encoded on top of the query
//!   string's own encoding), then split on `>` to walk into subtables (`dir>page` for
//!   `Actions.getPageUrls`, `Google>keyword` for a referrer's keywords); each part is trimmed
//!   and URL-decoded again, so a part may carry an encoded `>`.
//! - A part may start with `@` (the terminal operator): in the page-title reports it prefers the
//!   page row (whose label starts with a blank) to the folder of the same name.
//! - Each part is looked up as its HTML-escaped form, then (page-title reports) with a leading
//!   blank, then as given; among rows with the same label the last one wins, as Matomo's
//!   label index does.
//! - `labelFilterAddLabelIndex=1` adds the `label_index` metadata: which label found the row.
//! - No match answers an empty table (`[]`). While a label is set, `filter_limit`,
//!   `filter_offset` and `filter_truncate` are off (`DataTablePostProcessor::applyGenericFilters`)
//!   and `expanded` is ignored (`API\Request::sanitizeRequest`): a found row keeps only its
//!   `idsubdatatable`. The report is produced with its subtables ([`requested`]) so that the
//!   walk needs no second archive read.

use serde_json::Value;

use super::params::ApiParams;
use crate::enrich::url::{php_trim, url_decode};
use crate::reports::{DataTable, Row};

/// `LabelFilter::SEPARATOR_RECURSIVE_LABEL`.
const SEPARATOR: char = '>';
/// `LabelFilter::TERMINAL_OPERATOR`.
const TERMINAL: char = '@';
/// The reports whose page rows carry a leading blank (`LabelFilter::getLabelVariations`).
const PAGE_TITLE_METHODS: [&str; 3] = [
    "Actions.getPageTitles",
    "Actions.getEntryPageTitles",
    "Actions.getExitPageTitles",
];

/// The `label` filter of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelFilter {
    labels: Vec<String>,
    page_titles: bool,
    add_label_index: bool,
}

/// Whether the request filters by label (and so needs its report with subtables).
pub fn requested(params: &ApiParams) -> bool {
    LabelFilter::from_params(params).is_some()
}

impl LabelFilter {
    /// The filter asked for, if any.
    pub fn from_params(params: &ApiParams) -> Option<Self> {
        let mut labels = params.list("label");
        labels.retain(|label| !label.is_empty());
        if labels.is_empty() {
            return None;
        }
        Some(Self {
            labels,
            page_titles: params
                .get("method")
                .is_some_and(|method| PAGE_TITLE_METHODS.contains(&method)),
            add_label_index: params.get("labelFilterAddLabelIndex") == Some("1"),
        })
    }

    /// The rows found, one per label at most, in the order of the labels.
    pub fn apply(&self, table: DataTable) -> DataTable {
        let mut found = Vec::new();
        for (index, label) in self.labels.iter().enumerate() {
            let hit = self.variations(label).into_iter().find_map(|variation| {
                let parts: Vec<&str> = variation.split(SEPARATOR).collect();
                self.descend(&parts, &table)
            });
            if let Some(row) = hit {
                let mut row = row.clone();
                row.subtable = None;
                if self.add_label_index {
                    row.columns
                        .insert("label_index".to_owned(), Value::from(index));
                }
                found.push(row);
            }
        }
        DataTable { rows: found }
    }

    fn descend<'t>(&self, parts: &[&str], table: &'t DataTable) -> Option<&'t Row> {
        let (first, rest) = parts.split_first()?;
        let row = self.find(first, table)?;
        if rest.is_empty() {
            return Some(row);
        }
        self.descend(rest, row.subtable.as_ref()?)
    }

    /// `LabelFilter::findRowForLabel`: the last row with a label, per variation in order.
    fn find<'t>(&self, part: &str, table: &'t DataTable) -> Option<&'t Row> {
        self.variations(part).iter().find_map(|variation| {
            table
                .rows
                .iter()
                .rev()
                .find(|row| row.label() == Some(variation.as_str()))
        })
    }

    /// `LabelFilter::getLabelVariations`, without repeats.
    fn variations(&self, original: &str) -> Vec<String> {
        let original = php_trim(original);
        let (terminal, original) = match original.strip_prefix(TERMINAL) {
            Some(rest) => (true, rest),
            None => (false, original),
        };
        let label = php_trim(&url_decode(original)).to_owned();
        let escaped = html_escape(&label);
        let mut out = vec![escaped.clone()];
        if self.page_titles {
            let blank = [format!(" {escaped}"), format!(" {label}")];
            if terminal {
                out.splice(0..0, blank.into_iter().rev());
            } else {
                out.extend(blank);
            }
        }
        out.push(label);
        let mut unique = Vec::with_capacity(out.len());
        for variation in out {
            if !unique.contains(&variation) {
                unique.push(variation);
            }
        }
        unique
    }
}

/// `Common::sanitizeInputValue`'s `htmlspecialchars($value, ENT_QUOTES)`.
fn html_escape(s: &str) -> String {
    super::render::escape_xml(s).replace('\'', "&#039;")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row(label: &str, visits: i64, subtable: Option<DataTable>, id: Option<i64>) -> Row {
        let Value::Object(columns) = json!({"label": label, "nb_visits": visits}) else {
            unreachable!()
        };
        Row {
            columns,
            subtable,
            idsubdatatable: id,
        }
    }

    fn pages() -> DataTable {
        let sub = DataTable {
            rows: vec![
                row("/index", 3, None, None),
                row("/file.php?foo=bar&x=1", 2, None, None),
            ],
        };
        DataTable {
            rows: vec![
                row("dir", 5, Some(sub), Some(1)),
                row("/0", 1, None, None),
                row("/", 4, None, None),
            ],
        }
    }

    fn filter(query: &str) -> LabelFilter {
        LabelFilter::from_params(&ApiParams::parse(query.as_bytes())).expect("a label filter")
    }

    fn labels(table: &DataTable) -> Vec<&str> {
        table.rows.iter().filter_map(Row::label).collect()
    }

    #[test]
    fn no_label_is_no_filter_and_an_empty_label_neither() {
        assert_eq!(
            LabelFilter::from_params(&ApiParams::parse(b"method=A.b")),
            None
        );
        assert_eq!(LabelFilter::from_params(&ApiParams::parse(b"label=")), None);
        assert!(!requested(&ApiParams::parse(b"label=")));
        assert!(requested(&ApiParams::parse(b"label=x")));
    }

    #[test]
    fn only_the_matching_row_comes_back_and_none_gives_an_empty_table() {
        let found = filter("label=%20%20dir%20").apply(pages());
        assert_eq!(labels(&found), ["dir"]);
        // The found row keeps its subtable id, never the subtable (`expanded` is ignored).
        assert_eq!(found.rows[0].idsubdatatable, Some(1));
        assert!(found.rows[0].subtable.is_none());
        assert!(filter("label=nonExistent").apply(pages()).rows.is_empty());
        // "0" is a label like any other.
        assert_eq!(labels(&filter("label=/0").apply(pages())), ["/0"]);
    }

    #[test]
    fn a_recursive_label_walks_into_subtables_with_each_part_decoded_again() {
        let found = filter("label=dir%3E%2Ffile.php%253Ffoo%253Dbar%2526x%253D1").apply(pages());
        assert_eq!(labels(&found), ["/file.php?foo=bar&x=1"]);
        assert_eq!(found.rows[0].columns["nb_visits"], json!(2));
        assert!(filter("label=dir%3EnonExistent")
            .apply(pages())
            .rows
            .is_empty());
        // A row without a subtable ends the walk.
        assert!(filter("label=/0%3Ex").apply(pages()).rows.is_empty());
    }

    #[test]
    fn several_labels_come_back_in_the_order_asked_with_their_index() {
        let found = filter("label[]=%2F&label[]=missing&label[]=dir&labelFilterAddLabelIndex=1")
            .apply(pages());
        assert_eq!(labels(&found), ["/", "dir"]);
        assert_eq!(found.rows[0].columns["label_index"], json!(0));
        assert_eq!(found.rows[1].columns["label_index"], json!(2));
        // A comma is part of the label, as in Matomo.
        assert!(filter("label=dir,%2F").apply(pages()).rows.is_empty());
    }

    #[test]
    fn page_titles_find_the_page_row_with_its_leading_blank_and_at_prefers_it() {
        let company = DataTable {
            rows: vec![
                row("About us", 9, Some(DataTable::default()), Some(2)),
                row(" About us", 7, None, None),
            ],
        };
        let titles = || DataTable {
            rows: vec![
                row("Company", 16, Some(company.clone()), Some(1)),
                row(" Contact", 2, None, None),
            ],
        };
        let plain = "method=Actions.getPageTitles&label=Contact";
        assert_eq!(labels(&filter(plain).apply(titles())), [" Contact"]);
        // Without `@` the folder comes first; with it the page does.
        let query = "method=Actions.getPageTitles&label=Company%3EAbout%20us";
        assert_eq!(
            filter(query).apply(titles()).rows[0].columns["nb_visits"],
            json!(9)
        );
        let query = "method=Actions.getPageTitles&label=Company%3E%20%40About%20us";
        assert_eq!(
            filter(query).apply(titles()).rows[0].columns["nb_visits"],
            json!(7)
        );
        // Other reports get no blank variation.
        assert!(filter("method=Actions.getPageUrls&label=Contact")
            .apply(titles())
            .rows
            .is_empty());
    }

    #[test]
    fn escaped_and_plain_forms_both_match() {
        let table = DataTable {
            rows: vec![row("a & b", 1, None, None), row("c &amp; d", 2, None, None)],
        };
        assert_eq!(
            labels(&filter("label=a%20%26%20b").apply(table.clone())),
            ["a & b"]
        );
        assert_eq!(
            labels(&filter("label=c%20%26%20d").apply(table)),
            ["c &amp; d"]
        );
    }
}
