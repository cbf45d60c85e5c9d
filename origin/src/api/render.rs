//! The output formats of the Reporting API, byte for byte as Matomo 5 prints them
//! (`core/DataTable/Renderer/{Json,Xml,Csv,Tsv}.php`, `plugins/API/Renderer/*.php`).
//!
//! Facts reproduced here (checked against the golden answers of `tests/conformance`):
//! - JSON is PHP's `json_encode`: `/` escaped as `\/`, non-ASCII as lowercase `\uXXXX`, floats in
//!   their shortest round-trip form (`87.46999999999998`), integral floats as integers (`3`),
//!   empty arrays and empty rows as `[]`; a scalar answer is `{"value":X}`.
//! - XML and CSV print floats as PHP's `(string)$float` does (`precision=14`: `177.47`).
//! - XML: tab indentation, `<row idgoal='1'>` for `idgoal=N` keys, `<col name="...">` when a key is
//!   not a valid tag name, `<name />` for empty values, `<result />` for an empty answer.
//! - CSV: the header is the union of the rows' columns in first-seen order; nested arrays become
//!   `goals_idgoal=1_nb_conversions`; metadata columns are prefixed `metadata_`; values holding a
//!   quote, the separator or a line break are quoted; text starting with `=`, `+`, `-` or `@` gets
//!   a leading `'` (`Csv::formatFormulas`); `convertToUnicode=1` (default) gives UTF-16LE with a
//!   BOM. Multi-period answers get a leading `date` column, multi-site ones `idSite`.

use serde_json::{Map, Value};

use crate::reports::{DataTable, Row};

/// What an API method answered, before rendering.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A report table.
    Table(DataTable),
    /// One row without a label (`VisitsSummary.get`); Matomo's `DataTable\Simple`.
    Simple(Map<String, Value>),
    /// One value; `{"value":X}` in JSON.
    Scalar(Value),
    /// Several answers keyed by period label (`date`) or site id (`idSite`): `DataTable\Map`.
    Keyed {
        key: &'static str,
        entries: Vec<(String, Output)>,
    },
    /// A plain PHP array (site rows, goals, bulk results).
    Array(Value),
    /// A write that returns nothing: `{"result":"success","message":"ok"}`.
    Success,
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
    Csv,
    Tsv,
}

impl Format {
    /// `format=` (case-insensitive); `None` for formats we do not render.
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "xml" => Some(Self::Xml),
            "csv" => Some(Self::Csv),
            "tsv" => Some(Self::Tsv),
            _ => None,
        }
    }
}

/// Rendering options read from the request.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// `convertToUnicode` for CSV/TSV (default true).
    pub convert_to_unicode: bool,
    /// JSONP callback name, already validated.
    pub callback: Option<String>,
}

/// A rendered answer: body and content type.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Columns that Matomo keeps as row metadata (exported as `metadata_*` in CSV).
const METADATA: &[&str] = &[
    "segment",
    "url",
    "logo",
    "logoWidth",
    "logoHeight",
    "code",
    "referrer_type",
    "Actions_PageUrl",
    "Actions_PageTitle",
    "page_title_path",
    "idsubdatatable_in_db",
    "isSummaryRow",
    "tooltip",
];

/// Whether a column is row metadata rather than a metric.
pub fn is_metadata(name: &str) -> bool {
    METADATA.contains(&name)
}

/// Renders an answer.
pub fn render(output: &Output, format: Format, options: &RenderOptions) -> Rendered {
    match format {
        Format::Json => {
            let mut text = String::new();
            write_json(&json_value(output, true), &mut text);
            jsonp(text, options)
        }
        Format::Xml => Rendered {
            content_type: "text/xml; charset=utf-8",
            body: xml(output).into_bytes(),
        },
        Format::Csv | Format::Tsv => {
            let separator = if format == Format::Csv { ',' } else { '\t' };
            let text = csv(output, separator);
            let text = if text.is_empty() {
                "No data available".to_owned()
            } else {
                text
            };
            text_body(text, format, options.convert_to_unicode)
        }
    }
}

/// Renders an error the way Matomo's renderer of that format does.
pub fn render_error(message: &str, format: Format, options: &RenderOptions) -> Rendered {
    match format {
        Format::Json => {
            let flat = message.replace("\r\n", " ").replace('\n', " ");
            let mut map = Map::new();
            map.insert("result".into(), Value::from("error"));
            map.insert("message".into(), Value::from(flat));
            let mut text = String::new();
            write_json(&Value::Object(map), &mut text);
            jsonp(text, options)
        }
        Format::Xml => Rendered {
            content_type: "text/xml; charset=utf-8",
            body: format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<error message=\"{}\" />\n</result>",
                escape_xml(message)
            )
            .into_bytes(),
        },
        Format::Csv | Format::Tsv => Rendered {
            content_type: "text/plain; charset=utf-8",
            body: format!("Error: {message}").into_bytes(),
        },
    }
}

fn jsonp(text: String, options: &RenderOptions) -> Rendered {
    match &options.callback {
        Some(callback) => Rendered {
            content_type: "application/javascript; charset=utf-8",
            body: format!("{callback}({text})").into_bytes(),
        },
        None => Rendered {
            content_type: "application/json; charset=utf-8",
            body: text.into_bytes(),
        },
    }
}

fn text_body(text: String, format: Format, unicode: bool) -> Rendered {
    let content_type = match (format, unicode) {
        (Format::Tsv, true) => "text/tab-separated-values; charset=UTF-16LE",
        (Format::Tsv, false) => "text/tab-separated-values; charset=UTF-8",
        (_, true) => "application/vnd.ms-excel; charset=UTF-16LE",
        (_, false) => "application/vnd.ms-excel; charset=UTF-8",
    };
    let body = if unicode {
        let mut body = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            body.extend_from_slice(&unit.to_le_bytes());
        }
        body
    } else {
        text.into_bytes()
    };
    Rendered { content_type, body }
}

// ------------------------------------------------------------------ the PHP array view

/// A row as Matomo's PHP renderer flattens it: columns (with metadata), `idsubdatatable`, then
/// `subtable` when it is expanded.
pub fn row_value(row: &Row) -> Map<String, Value> {
    let mut map = row.columns.clone();
    if let Some(id) = row.idsubdatatable {
        if !map.contains_key("idsubdatatable") {
            map.insert("idsubdatatable".into(), Value::from(id));
        }
    }
    if let Some(subtable) = &row.subtable {
        map.insert("subtable".into(), table_value(subtable));
    }
    map
}

/// A table as a JSON array of rows.
pub fn table_value(table: &DataTable) -> Value {
    Value::Array(
        table
            .rows
            .iter()
            .map(|row| Value::Object(row_value(row)))
            .collect(),
    )
}

/// The JSON value of an answer; `top` wraps scalars as `{"value":X}`.
pub fn json_value(output: &Output, top: bool) -> Value {
    match output {
        Output::Table(table) => table_value(table),
        Output::Simple(map) => Value::Object(map.clone()),
        Output::Scalar(value) if top => {
            let mut map = Map::new();
            map.insert("value".into(), value.clone());
            Value::Object(map)
        }
        Output::Scalar(value) => value.clone(),
        Output::Keyed { entries, .. } => Value::Object(
            entries
                .iter()
                .map(|(key, inner)| (key.clone(), json_value(inner, false)))
                .collect(),
        ),
        Output::Array(value) => value.clone(),
        Output::Success => {
            let mut map = Map::new();
            map.insert("result".into(), Value::from("success"));
            map.insert("message".into(), Value::from("ok"));
            Value::Object(map)
        }
    }
}

// ------------------------------------------------------------------ JSON

/// Writes `value` as PHP's `json_encode` does.
pub fn write_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&json_number(n)),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) if map.is_empty() => out.push_str("[]"),
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(key, out);
                out.push(':');
                write_json(item, out);
            }
            out.push('}');
        }
    }
}

fn json_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if !f.is_finite() {
        return "0".to_owned();
    }
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{f:.0}");
    }
    // Rust's shortest round-trip digits are PHP's `serialize_precision=-1` digits.
    format!("{f}")
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// ------------------------------------------------------------------ scalars as PHP strings

/// A scalar as PHP's string conversion prints it (XML, CSV): floats with 14 significant digits.
pub fn php_string(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(true) => "1".to_owned(),
        Value::Bool(false) => "0".to_owned(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => php_float(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => String::new(),
    }
}

/// `(string)$float` with PHP's default `precision=14` (`%.14G`).
pub fn php_float(f: f64) -> String {
    if f.is_nan() {
        return "NAN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "INF" } else { "-INF" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // Round to 14 significant digits through scientific notation, then choose the layout.
    let sci = format!("{f:.13e}");
    let Some((mantissa, exponent)) = sci.split_once('e') else {
        return sci;
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let sign = if negative { "-" } else { "" };
    if !(-4..14).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        // PHP keeps one fraction digit in scientific notation: `1.0E-5`.
        let fraction = if rest.is_empty() {
            ".0".to_owned()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{fraction}E{exp_sign}{}", exponent.abs());
    }
    if exponent < 0 {
        let zeros = "0".repeat((-exponent - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exponent as usize + 1;
    if digits.len() <= int_len {
        format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
    } else {
        let (int_part, fraction) = digits.split_at(int_len);
        format!("{sign}{int_part}.{fraction}")
    }
}

/// Whether PHP's `is_numeric` holds for a string (digits, sign, point, exponent; no INF/NAN).
fn is_numeric(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
        && t.bytes().any(|b| b.is_ascii_digit())
        && t.parse::<f64>().is_ok()
}

// ------------------------------------------------------------------ XML

const XML_HEAD: &str = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n";

/// Escapes text for XML content and attributes (`htmlspecialchars`, double quotes included).
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn xml_scalar(value: &Value) -> String {
    escape_xml(&php_string(value))
}

fn xml(output: &Output) -> String {
    let body = match output {
        Output::Table(table) if table.rows.is_empty() => "<result />".to_owned(),
        Output::Table(table) => {
            let rows: Vec<Value> = table
                .rows
                .iter()
                .map(|row| Value::Object(row_value(row)))
                .collect();
            format!("<result>\n{}</result>", xml_rows(&rows, ""))
        }
        Output::Simple(map) if map.is_empty() => "<result />".to_owned(),
        Output::Simple(map) => format!("<result>\n{}</result>", xml_simple(map, "")),
        Output::Scalar(value) => {
            let text = xml_scalar(value);
            if text.is_empty() {
                "<result />".to_owned()
            } else {
                format!("<result>{text}</result>")
            }
        }
        Output::Keyed { .. } => format!("<results>\n{}</results>", xml_keyed(output, "")),
        Output::Array(value) => xml_array_root(value),
        Output::Success => "<result>\n\t<success message=\"ok\" />\n</result>".to_owned(),
    };
    format!("{XML_HEAD}{body}")
}

/// Whether a name can be used as a tag (`Xml::isValidXmlTagName`).
fn valid_tag(name: &str) -> bool {
    const INVALID: &str = "!\"#$%&'()*+,/;<=>?@[\\]^`{|}~";
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if INVALID.contains(first) || first == '-' || first == '.' || first.is_ascii_digit() {
        return false;
    }
    !name
        .chars()
        .any(|c| INVALID.contains(c) || c.is_whitespace())
}

fn tags(name: &str, use_col: bool) -> (String, &'static str) {
    if use_col {
        (format!("col name=\"{}\"", escape_xml(name)), "col")
    } else {
        (name.to_owned(), "")
    }
}

fn xml_element(prefix: &str, name: &str, use_col: bool, inner: &str) -> String {
    let (start, end) = tags(name, use_col);
    let end = if end.is_empty() { name } else { end };
    if inner.is_empty() {
        format!("{prefix}<{start} />\n")
    } else {
        format!("{prefix}<{start}>{inner}</{end}>\n")
    }
}

/// `Xml::renderDataTable`: a list of rows, or a map of rows keyed `idgoal=N`.
fn xml_rows(rows: &[Value], prefix: &str) -> String {
    let keyed: Vec<(Option<&str>, &Value)> = rows.iter().map(|row| (None, row)).collect();
    xml_rows_keyed(&keyed, prefix)
}

fn xml_rows_keyed(rows: &[(Option<&str>, &Value)], prefix: &str) -> String {
    let use_col = rows
        .first()
        .and_then(|(_, row)| row.as_object())
        .is_some_and(|row| row.keys().any(|k| !valid_tag(k)));
    let mut out = String::new();
    for (key, row) in rows {
        let Some(row) = row.as_object() else {
            let name = key.unwrap_or("row");
            out.push_str(&xml_element(
                &format!("{prefix}\t\t"),
                name,
                false,
                &xml_scalar(row),
            ));
            continue;
        };
        let attribute = key
            .and_then(|k| k.split_once('='))
            .map(|(name, value)| format!(" {name}='{value}'"))
            .unwrap_or_default();
        out.push_str(&format!("{prefix}\t<row{attribute}>\n"));
        for (name, value) in row {
            let inner = match value {
                Value::Array(items) => {
                    format!(
                        "\n{}{prefix}\t\t",
                        xml_rows(items, &format!("{prefix}\t\t"))
                    )
                }
                Value::Object(map) => {
                    let items: Vec<(Option<&str>, &Value)> =
                        map.iter().map(|(k, v)| (Some(k.as_str()), v)).collect();
                    format!(
                        "\n{}{prefix}\t\t",
                        xml_rows_keyed(&items, &format!("{prefix}\t\t"))
                    )
                }
                scalar => xml_scalar(scalar),
            };
            let inner = if matches!(value, Value::Array(a) if a.is_empty())
                || matches!(value, Value::Object(m) if m.is_empty())
            {
                String::new()
            } else {
                inner
            };
            out.push_str(&xml_element(
                &format!("{prefix}\t\t"),
                name,
                use_col,
                &inner,
            ));
        }
        out.push_str(&format!("\t{prefix}</row>\n"));
    }
    out
}

/// `Xml::renderDataTableSimple`.
fn xml_simple(map: &Map<String, Value>, prefix: &str) -> String {
    let use_col = map.keys().any(|k| !valid_tag(k));
    map.iter()
        .map(|(name, value)| xml_element(&format!("{prefix}\t"), name, use_col, &xml_scalar(value)))
        .collect()
}

/// `Xml::renderDataTableArray`: `<result date="...">` entries.
fn xml_keyed(output: &Output, prefix: &str) -> String {
    let Output::Keyed { key, entries } = output else {
        return String::new();
    };
    let mut out = String::new();
    for (label, inner) in entries {
        let open = format!("{prefix}\t<result {key}=\"{}\"", escape_xml(label));
        match inner {
            Output::Table(table) if !table.rows.is_empty() => {
                let rows: Vec<Value> = table
                    .rows
                    .iter()
                    .map(|row| Value::Object(row_value(row)))
                    .collect();
                out.push_str(&format!(
                    "{open}>\n{}{prefix}\t</result>\n",
                    xml_rows(&rows, &format!("{prefix}\t"))
                ));
            }
            Output::Simple(map) if !map.is_empty() => {
                out.push_str(&format!(
                    "{open}>\n{}{prefix}\t</result>\n",
                    xml_simple(map, &format!("{prefix}\t"))
                ));
            }
            Output::Scalar(value) if !xml_scalar(value).is_empty() => {
                out.push_str(&format!("{open}>{}</result>\n", xml_scalar(value)));
            }
            Output::Keyed { .. } => {
                out.push_str(&format!(
                    "{open}>\n{}{prefix}\t</result>\n",
                    xml_keyed(inner, &format!("{prefix}\t"))
                ));
            }
            Output::Array(value) if !is_empty_value(value) => {
                out.push_str(&format!(
                    "{open}>\n{}{prefix}\t</result>\n",
                    xml_array(value, &format!("{prefix}\t\t"))
                ));
            }
            _ => out.push_str(&format!("{open} />\n")),
        }
    }
    out
}

fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// `Xml::renderArray` at the root, with its "wrap a flat associative array in `<row>`" rule.
fn xml_array_root(value: &Value) -> String {
    if is_empty_value(value) && !value.is_string() {
        return "<result />".to_owned();
    }
    match value {
        Value::Object(map) if map.values().all(|v| !v.is_array() && !v.is_object()) => {
            format!(
                "<result>\n\t<row>\n{}\t</row>\n</result>",
                xml_array(value, "\t\t")
            )
        }
        Value::Array(_) | Value::Object(_) => {
            format!("<result>\n{}</result>", xml_array(value, "\t"))
        }
        scalar => {
            let text = xml_scalar(scalar);
            if text.is_empty() {
                "<result />".to_owned()
            } else {
                format!("<result>{text}</result>")
            }
        }
    }
}

/// `Xml::renderArray`: lists as `<row>`, numeric keys as `<row key="N">`, names as tags.
fn xml_array(value: &Value, prefix: &str) -> String {
    let items: Vec<(String, bool, &Value)> = match value {
        Value::Array(items) => items.iter().map(|v| (String::new(), false, v)).collect(),
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), true, v)).collect(),
        _ => return String::new(),
    };
    let mut out = String::new();
    for (key, associative, item) in items {
        let (open, close, empty) = if !associative {
            ("<row>".to_owned(), "</row>".to_owned(), "<row/>".to_owned())
        } else if key.parse::<i64>().is_ok() {
            (
                format!("<row key=\"{key}\">"),
                "</row>".to_owned(),
                format!("<row key=\"{key}\"/>"),
            )
        } else {
            (
                format!("<{key}>"),
                format!("</{key}>"),
                format!("<{key} />"),
            )
        };
        match item {
            Value::Array(_) | Value::Object(_) => {
                out.push_str(&format!("{prefix}{open}\n"));
                out.push_str(&xml_array(item, &format!("{prefix}\t")));
                out.push_str(&format!("{prefix}{close}\n"));
            }
            scalar => {
                let text = xml_scalar(scalar);
                if text.is_empty() {
                    out.push_str(&format!("{prefix}{empty}\n"));
                } else {
                    out.push_str(&format!("{prefix}{open}{text}{close}\n"));
                }
            }
        }
    }
    out
}

// ------------------------------------------------------------------ CSV / TSV

fn csv(output: &Output, sep: char) -> String {
    match output {
        Output::Table(table) => csv_table(&table.rows, sep),
        Output::Simple(map) => csv_simple(map, sep),
        Output::Scalar(value) => format!("value\n{}", csv_value(value, sep)),
        Output::Keyed { key, entries } => {
            let mut header = String::new();
            let mut body = String::new();
            for (label, inner) in entries {
                let text = csv(inner, sep);
                let mut lines = text.split('\n');
                let first = lines.next().unwrap_or("");
                if header.is_empty() {
                    header = first.to_owned();
                }
                for line in lines {
                    body.push('\n');
                    body.push_str(&csv_cell(label, sep));
                    body.push(sep);
                    body.push_str(line);
                }
            }
            if header.is_empty() {
                body
            } else {
                format!("{key}{sep}{header}{body}")
            }
        }
        Output::Array(value) => csv_array(value, sep),
        Output::Success => "message\nok".to_owned(),
    }
}

fn csv_simple(map: &Map<String, Value>, sep: char) -> String {
    if map.is_empty() {
        return String::new();
    }
    if map.len() == 1 {
        let value = map.values().next().cloned().unwrap_or(Value::Null);
        return format!("value\n{}", csv_value(&value, sep));
    }
    let header: Vec<String> = map.keys().map(|k| csv_cell(k, sep)).collect();
    let values: Vec<String> = map.values().map(|v| csv_value(v, sep)).collect();
    format!(
        "{}\n{}",
        header.join(&sep.to_string()),
        values.join(&sep.to_string())
    )
}

fn csv_array(value: &Value, sep: char) -> String {
    match value {
        Value::Array(items) if items.iter().all(Value::is_object) => {
            let rows: Vec<Row> = items
                .iter()
                .filter_map(|item| item.as_object())
                .map(|columns| Row {
                    columns: columns.clone(),
                    ..Row::default()
                })
                .collect();
            csv_table(&rows, sep)
        }
        Value::Object(map) if map.values().all(Value::is_object) => {
            let rows: Vec<Row> = map
                .values()
                .filter_map(|item| item.as_object())
                .map(|columns| Row {
                    columns: columns.clone(),
                    ..Row::default()
                })
                .collect();
            csv_table(&rows, sep)
        }
        Value::Object(map) => csv_simple(map, sep),
        Value::Array(items) => {
            let lines: Vec<String> = items.iter().map(|v| csv_value(v, sep)).collect();
            if lines.is_empty() {
                String::new()
            } else {
                format!("value\n{}", lines.join("\n"))
            }
        }
        scalar => format!("value\n{}", csv_value(scalar, sep)),
    }
}

/// `Csv::renderDataTable`.
fn csv_table(rows: &[Row], sep: char) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut all: Vec<String> = Vec::new();
    let mut lines: Vec<Vec<(String, Value)>> = Vec::new();
    for row in rows {
        let mut cells: Vec<(String, Value)> = Vec::new();
        let mut metadata: Vec<(String, Value)> = Vec::new();
        for (name, value) in &row.columns {
            match value {
                Value::Object(nested) => {
                    for (key, sub) in nested {
                        if let Value::Object(subvalues) = sub {
                            for (subkey, subvalue) in subvalues {
                                cells.push((format!("{name}_{key}_{subkey}"), subvalue.clone()));
                            }
                        }
                    }
                }
                Value::Array(_) => {}
                _ if METADATA.contains(&name.as_str()) || name == "idsubdatatable" => {
                    if name != "idsubdatatable" {
                        metadata.push((format!("metadata_{name}"), value.clone()));
                    }
                }
                scalar => cells.push((name.clone(), scalar.clone())),
            }
        }
        cells.extend(metadata);
        for (name, _) in &cells {
            if !all.contains(name) {
                all.push(name.clone());
            }
        }
        lines.push(cells);
    }
    let s = sep.to_string();
    let mut out = all
        .iter()
        .map(|c| csv_cell(c, sep))
        .collect::<Vec<_>>()
        .join(&s);
    for cells in lines {
        out.push('\n');
        let values: Vec<String> = all
            .iter()
            .map(|name| {
                cells
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| csv_value(v, sep))
                    .unwrap_or_default()
            })
            .collect();
        out.push_str(&values.join(&s));
    }
    out
}

fn csv_value(value: &Value, sep: char) -> String {
    match value {
        Value::String(s) => csv_cell(s, sep),
        other => php_string(other),
    }
}

/// `Csv::formatValue` for text: formula guard, then quoting.
fn csv_cell(text: &str, sep: char) -> String {
    let mut text = text.to_owned();
    if !is_numeric(&text) && text.starts_with(['=', '+', '-', '@']) {
        text.insert(0, '\'');
    }
    if text.contains('"') || text.contains(sep) || text.contains('\n') || text.contains('\r') {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(value: Value) -> Row {
        Row {
            columns: value.as_object().cloned().unwrap_or_default(),
            ..Row::default()
        }
    }

    fn text(output: &Output, format: Format) -> String {
        let options = RenderOptions {
            convert_to_unicode: false,
            callback: None,
        };
        String::from_utf8(render(output, format, &options).body).unwrap()
    }

    #[test]
    fn php_floats_have_fourteen_significant_digits() {
        assert_eq!(php_float(177.46999999999997), "177.47");
        assert_eq!(php_float(28.999999999999996), "29");
        assert_eq!(php_float(2.9), "2.9");
        assert_eq!(php_float(0.0001), "0.0001");
        assert_eq!(php_float(0.00001), "1.0E-5");
        assert_eq!(php_float(-12.5), "-12.5");
        assert_eq!(php_float(1e20), "1.0E+20");
        assert_eq!(php_float(123456789012345.0), "1.2345678901234E+14");
        assert_eq!(php_float(10000000000000.0), "10000000000000");
    }

    #[test]
    fn json_escapes_like_php_and_prints_integral_floats_as_integers() {
        let mut out = String::new();
        write_json(
            &json!({"url": "https://a/b", "dash": "0\u{2013}10s", "x": 3.0, "y": 87.46999999999998, "e": {}}),
            &mut out,
        );
        assert_eq!(
            out,
            r#"{"url":"https:\/\/a\/b","dash":"0\u201310s","x":3,"y":87.46999999999998,"e":[]}"#
        );
    }

    #[test]
    fn a_scalar_is_wrapped_in_value_only_at_the_top() {
        let keyed = Output::Keyed {
            key: "date",
            entries: vec![("2026".into(), Output::Scalar(json!(5)))],
        };
        assert_eq!(
            text(&Output::Scalar(json!("5.3.1")), Format::Json),
            r#"{"value":"5.3.1"}"#
        );
        assert_eq!(text(&keyed, Format::Json), r#"{"2026":5}"#);
    }

    #[test]
    fn xml_of_a_table_with_goals_matches_matomos_layout() {
        let table = DataTable {
            rows: vec![Row {
                idsubdatatable: Some(2),
                ..row(
                    json!({"label": "A & B", "nb_visits": 3, "goals": {"idgoal=1": {"revenue": 1.5}}, "segment": "x==y"}),
                )
            }],
        };
        let expected = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row>\n\t\t<label>A &amp; B</label>\n\t\t<nb_visits>3</nb_visits>\n\t\t<goals>\n\t\t\t<row idgoal='1'>\n\t\t\t\t<revenue>1.5</revenue>\n\t\t\t</row>\n\t\t</goals>\n\t\t<segment>x==y</segment>\n\t\t<idsubdatatable>2</idsubdatatable>\n\t</row>\n</result>";
        assert_eq!(text(&Output::Table(table), Format::Xml), expected);
    }

    #[test]
    fn xml_of_multi_period_metrics_marks_empty_periods() {
        let mut map = Map::new();
        map.insert("nb_visits".into(), json!(2));
        let keyed = Output::Keyed {
            key: "date",
            entries: vec![
                ("2026-10-01".into(), Output::Simple(map)),
                ("2026-10-02".into(), Output::Simple(Map::new())),
            ],
        };
        let expected = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<results>\n\t<result date=\"2026-10-01\">\n\t\t<nb_visits>2</nb_visits>\n\t</result>\n\t<result date=\"2026-10-02\" />\n</results>";
        assert_eq!(text(&keyed, Format::Xml), expected);
    }

    #[test]
    fn csv_flattens_goals_and_prefixes_metadata() {
        let table = DataTable {
            rows: vec![
                row(
                    json!({"label": "Direct", "nb_visits": 2, "goals": {"idgoal=1": {"revenue": 177.46999999999997}}, "segment": "referrerType==direct"}),
                ),
                row(json!({"label": "a,\"b\"", "nb_visits": 1, "extra": "=1+1"})),
            ],
        };
        assert_eq!(
            text(&Output::Table(table), Format::Csv),
            "label,nb_visits,goals_idgoal=1_revenue,metadata_segment,extra\nDirect,2,177.47,referrerType==direct,\n\"a,\"\"b\"\"\",1,,,'=1+1"
        );
    }

    #[test]
    fn csv_is_utf16le_with_a_bom_by_default_and_tsv_uses_tabs() {
        let mut map = Map::new();
        map.insert("a".into(), json!(1));
        map.insert("b".into(), json!("x"));
        let options = RenderOptions {
            convert_to_unicode: true,
            callback: None,
        };
        let body = render(&Output::Simple(map.clone()), Format::Csv, &options).body;
        assert_eq!(&body[..4], &[0xFF, 0xFE, b'a', 0]);
        assert_eq!(text(&Output::Simple(map), Format::Tsv), "a\tb\n1\tx");
    }

    #[test]
    fn multi_period_csv_gets_a_leading_date_column_and_skips_empty_periods() {
        let mut map = Map::new();
        map.insert("nb_visits".into(), json!(2));
        map.insert("nb_actions".into(), json!(3));
        let keyed = Output::Keyed {
            key: "date",
            entries: vec![
                ("2026-10-01".into(), Output::Simple(Map::new())),
                ("2026-10-02".into(), Output::Simple(map)),
            ],
        };
        assert_eq!(
            text(&keyed, Format::Csv),
            "date,nb_visits,nb_actions\n2026-10-02,2,3"
        );
    }

    #[test]
    fn errors_have_each_formats_shape() {
        let options = RenderOptions::default();
        let json = render_error("bad\nthing", Format::Json, &options).body;
        assert_eq!(json, br#"{"result":"error","message":"bad thing"}"#);
        let xml = render_error("a \"b\" <c>", Format::Xml, &options).body;
        assert_eq!(
            String::from_utf8(xml).unwrap(),
            "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<error message=\"a &quot;b&quot; &lt;c&gt;\" />\n</result>"
        );
        assert_eq!(render_error("x", Format::Csv, &options).body, b"Error: x");
    }

    #[test]
    fn a_json_callback_wraps_the_answer_as_javascript() {
        let options = RenderOptions {
            convert_to_unicode: true,
            callback: Some("cb".to_owned()),
        };
        let rendered = render(&Output::Scalar(json!(1)), Format::Json, &options);
        assert_eq!(rendered.body, br#"cb({"value":1})"#);
        assert!(rendered.content_type.starts_with("application/javascript"));
    }

    #[test]
    fn xml_of_keyed_arrays_uses_row_keys() {
        let value = json!({"1": {"idgoal": 1, "name": "G"}});
        assert_eq!(
            text(&Output::Array(value), Format::Xml),
            "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<row key=\"1\">\n\t\t<idgoal>1</idgoal>\n\t\t<name>G</name>\n\t</row>\n</result>"
        );
    }
}
/// Matomo 5.3.1's own answers (from `tests/conformance/golden-seed1`) rendered again from their
/// JSON: the XML and CSV must come out byte for byte.
#[cfg(test)]
mod golden {
    use super::*;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/api/testdata/");

    fn read(name: &str) -> Vec<u8> {
        std::fs::read(format!("{DIR}{name}")).unwrap()
    }

    fn check(name: &str, output: &Output) {
        let options = RenderOptions {
            convert_to_unicode: true,
            callback: None,
        };
        let xml = render(output, Format::Xml, &options).body;
        assert_eq!(
            String::from_utf8_lossy(&xml),
            String::from_utf8_lossy(&read(&format!("{name}.xml")))
        );
        assert_eq!(
            render(output, Format::Csv, &options).body,
            read(&format!("{name}.csv"))
        );
        assert_eq!(
            render(output, Format::Json, &options).body,
            read(&format!("{name}.json"))
        );
    }

    #[test]
    fn visits_summary_renders_exactly_as_matomo_does_in_every_format() {
        let name = "VisitsSummary.get__site1__month__2026-10-01";
        let json: Value = serde_json::from_slice(&read(&format!("{name}.json"))).unwrap();
        check(name, &Output::Simple(json.as_object().unwrap().clone()));
    }

    #[test]
    fn a_table_with_goals_and_metadata_renders_exactly_as_matomo_does() {
        let name = "Referrers.getReferrerType__site1__month__2026-10-01";
        let json: Value = serde_json::from_slice(&read(&format!("{name}.json"))).unwrap();
        let rows = json
            .as_array()
            .unwrap()
            .iter()
            .map(|row| Row {
                columns: row.as_object().unwrap().clone(),
                ..Row::default()
            })
            .collect();
        check(name, &Output::Table(DataTable { rows }));
    }
}
