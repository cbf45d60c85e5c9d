//! Matomo's DataTable as the Reporting API returns it: ordered rows of ordered columns.
//!
//! A row's `columns` keep Matomo's column order (serde_json's `preserve_order`), hold the `label`,
//! the metrics, nested objects such as `goals` (`{"idgoal=1": {...}}`) and metadata (`segment`,
//! `url`, `logo`, ...). Processed rates are stored raw (`bounce_rate` = 0.23); the API renderer
//! formats them according to `format_metrics` (`"23%"` by default). A row may carry a subtable
//! (`expanded=1`) or only its id (`idsubdatatable`).

use serde_json::{Map, Value};

/// One row: `label` first, then the metrics and metadata, in Matomo's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub columns: Map<String, Value>,
    /// The rows under this one (referrer keywords, URL folders...), when the report has them.
    pub subtable: Option<DataTable>,
    /// The subtable's id, as `idSubtable=` takes it.
    pub idsubdatatable: Option<i64>,
}

/// A report table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataTable {
    pub rows: Vec<Row>,
}

impl Row {
    /// The row's label, when it has one.
    pub fn label(&self) -> Option<&str> {
        self.columns.get("label").and_then(Value::as_str)
    }
}
