//! `segment=`: Matomo's segment definitions parsed into a typed expression (pure, no database).
//!
//! A definition is conditions `name<op>value` joined by `;` (AND) and `,` (OR); OR binds tighter,
//! so `a;b,c` is `a AND (b OR c)`: a [`Segment`] is a list of AND terms, each a list of OR'ed
//! [`Condition`]s. The rules are Matomo 5's (`core/Segment.php`, `core/Segment/SegmentExpression.php`):
//! - The definition is trimmed; empty (or PHP's empty `"0"`) means all visits.
//! - A definition may arrive URL-encoded once more than the query string's own encoding. Both
//!   the definition and its `urldecode` are parsed, and the raw one is kept only when it parses
//!   into more conditions (`Segment::__construct`); otherwise the decoded one, with its error.
//! - At most [`TRUNCATE_LIMIT`] bytes are read (`Segment::SEGMENT_TRUNCATE_LIMIT`).
//! - `;` and `,` split except when preceded by `\` or last in the string; `\;` and `\,` then
//!   become `;` and `,`. Empty AND terms (and `"0"`, PHP's `array_filter`) are dropped; an empty
//!   OR term is an invalid condition.
//! - Each condition is URL-decoded, split at the first operator after a non-empty name (in
//!   Matomo's order `== != >= > <= < =@ !@ =^ =$`, so `a<=1` is `<=`), and its value is
//!   URL-decoded again. PHP's `.` stops at a newline: a newline in the name makes the condition
//!   invalid, one in the value ends the value.
//! - An empty value is allowed with `==` (is null or empty) and `!=` (is neither), else it is
//!   an error. Then each name must be in the [`catalogue`]; the first unknown one is reported.
//!
//! For the archiver: nothing here is SQL. A [`Condition`] names its catalogue entry (the log
//! table and column it reads, and how its value maps to the stored one, see
//! [`catalogue::Values`]) and carries the value as data, so the WHERE clause built from a
//! segment binds every value as a parameter (`?`/`$n`) and splices only the catalogue's static
//! column names. Building segmented archives is not done yet: the API answers a valid segment
//! with an explicit error ([`NOT_SUPPORTED_YET`]).

pub mod catalogue;

use std::fmt;

pub use catalogue::{Category, Dimension, Kind, Source, Values, CATALOGUE};

use crate::enrich::url::{php_trim, url_decode};

/// `Segment::SEGMENT_TRUNCATE_LIMIT`: bytes of a definition that are read.
pub const TRUNCATE_LIMIT: usize = 8192;

/// What the Reporting API answers for a valid segment until segmented archives are built.
pub const NOT_SUPPORTED_YET: &str = "Segmented reports are not supported by Edgemeter yet: \
     remove the segment parameter to get the report for all visits.";

/// A comparison of a condition (`SegmentExpression::MATCH_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Equal,
    /// `!=` (also matches NULL, as Matomo's `IS NULL OR <>`)
    NotEqual,
    /// `>=`
    GreaterOrEqual,
    /// `>`
    Greater,
    /// `<=`
    LessOrEqual,
    /// `<`
    Less,
    /// `=@`: contains (a LIKE with `%` and `_` escaped)
    Contains,
    /// `!@`: does not contain (also matches NULL)
    DoesNotContain,
    /// `=^`: starts with
    StartsWith,
    /// `=$`: ends with
    EndsWith,
    /// `name==` with no value: NULL or empty.
    IsNullOrEmpty,
    /// `name!=` with no value: neither NULL nor empty.
    IsNotNullNorEmpty,
}

/// The operators in the order Matomo's pattern tries them at one position.
const OPERATORS: [(&str, Op); 10] = [
    ("==", Op::Equal),
    ("!=", Op::NotEqual),
    (">=", Op::GreaterOrEqual),
    (">", Op::Greater),
    ("<=", Op::LessOrEqual),
    ("<", Op::Less),
    ("=@", Op::Contains),
    ("!@", Op::DoesNotContain),
    ("=^", Op::StartsWith),
    ("=$", Op::EndsWith),
];

/// One `name<op>value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub dimension: &'static Dimension,
    pub op: Op,
    /// The decoded value; empty for [`Op::IsNullOrEmpty`] and [`Op::IsNotNullNorEmpty`].
    pub value: String,
}

impl Condition {
    /// The LIKE pattern of a text match (`=@`, `!@`, `=^`, `=$`), `None` for the other
    /// operators. `%` and `_` in the value are escaped with `\` as
    /// `SegmentExpression::escapeLikeString` does (a `\` itself is kept). The statement needs
    /// `ESCAPE '\'` (SQLite has no default escape character), and matches case-insensitively as
    /// MySQL's default collation does (PostgreSQL: `ILIKE`).
    pub fn like_pattern(&self) -> Option<String> {
        let escaped = self.value.replace('%', "\\%").replace('_', "\\_");
        match self.op {
            Op::Contains | Op::DoesNotContain => Some(format!("%{escaped}%")),
            Op::StartsWith => Some(format!("{escaped}%")),
            Op::EndsWith => Some(format!("%{escaped}")),
            _ => None,
        }
    }
}

/// A parsed definition: AND of ORs. No terms: all visits.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    definition: String,
    and: Vec<Vec<Condition>>,
}

impl Segment {
    /// The definition as given (trimmed): what Matomo hashes into archive names
    /// (`md5(urldecode(definition))`).
    pub fn definition(&self) -> &str {
        &self.definition
    }

    /// Whether it selects all visits.
    pub fn is_empty(&self) -> bool {
        self.and.is_empty()
    }

    /// The AND terms, each a non-empty list of OR'ed conditions.
    pub fn terms(&self) -> &[Vec<Condition>] {
        &self.and
    }

    fn count(&self) -> usize {
        self.and.iter().map(Vec::len).sum()
    }
}

/// Why a definition was refused; the texts are Matomo's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    /// No operator after a name.
    #[error("The segment condition '{0}' is not valid.")]
    Invalid(String),
    /// An empty value after an operator other than `==` and `!=`.
    #[error(
        "The segment '{0}' has no value specified. You can leave this value empty only when you use the operators: != (is not) or == (is)"
    )]
    NoValue(String),
    /// A name that is not in the catalogue.
    #[error("Segment '{0}' is not a supported segment.")]
    Unsupported(String),
}

/// Parses a `segment=` value (as the query string decoded it). Never panics.
pub fn parse(definition: &str) -> Result<Segment, SegmentError> {
    let definition = php_trim(definition);
    let decoded = url_decode(definition);
    let decoded_count = if decoded != definition {
        parse_expression(&decoded).map_or(0, |segment| segment.count())
    } else {
        0
    };
    let raw = parse_expression(definition);
    let mut segment = match raw {
        Ok(raw) if raw.count() > decoded_count => raw,
        _ => parse_expression(&decoded)?,
    };
    definition.clone_into(&mut segment.definition);
    Ok(segment)
}

/// `Segment::initializeSegment` on one form of the definition.
fn parse_expression(definition: &str) -> Result<Segment, SegmentError> {
    let definition = truncate(definition, TRUNCATE_LIMIT);
    let mut parsed = Vec::new();
    for and in split(php_trim(definition), ';') {
        if and.is_empty() || and == "0" {
            continue;
        }
        let ors = split(&and, ',')
            .iter()
            .map(|or| condition(&or.replace("\\;", ";").replace("\\,", ",")))
            .collect::<Result<Vec<_>, _>>()?;
        parsed.push(ors);
    }
    let and = parsed
        .into_iter()
        .map(|ors| {
            ors.into_iter()
                .map(|(name, op, value)| {
                    let dimension = catalogue::find(&name)
                        .ok_or_else(|| SegmentError::Unsupported(name.clone()))?;
                    Ok(Condition {
                        dimension,
                        op,
                        value,
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Segment {
        definition: definition.to_owned(),
        and,
    })
}

/// The longest prefix of at most `limit` bytes that ends on a character boundary (PHP's
/// `substr` cuts bytes; a cut inside a character would not be valid text here).
fn truncate(s: &str, limit: usize) -> &str {
    if s.len() <= limit {
        return s;
    }
    let mut end = limit;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `preg_split('/D(?!$)(?<!\\D)/', ...)`: splits on `delimiter` unless it is the last character
/// or follows a backslash.
fn split(s: &str, delimiter: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut previous = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == delimiter && previous != Some('\\') && chars.peek().is_some() {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
        previous = Some(c);
    }
    parts.push(current);
    parts
}

/// `SegmentExpression::parseOperand`: `(name, op, value)`.
fn condition(operand: &str) -> Result<(String, Op, String), SegmentError> {
    let operand = url_decode(operand);
    let invalid = || SegmentError::Invalid(operand.to_string());
    let mut found = None;
    // `^(.+?)(ops)`: the name is at least one character and no newline.
    for (at, _) in operand.char_indices().skip(1) {
        let before = &operand[..at];
        if before.ends_with('\n') {
            break;
        }
        let rest = &operand[at..];
        if let Some((text, op)) = OPERATORS.iter().find(|(text, _)| rest.starts_with(text)) {
            found = Some((before, *op, &rest[text.len()..]));
            break;
        }
    }
    let (name, op, value) = found.ok_or_else(invalid)?;
    // `(.*)` stops at a newline.
    let value = value.split('\n').next().unwrap_or_default();
    let value = url_decode(value).into_owned();
    let op = match (value.is_empty(), op) {
        (false, op) => op,
        (true, Op::NotEqual) => Op::IsNotNullNorEmpty,
        (true, Op::Equal) => Op::IsNullOrEmpty,
        (true, _) => return Err(SegmentError::NoValue(operand.to_string())),
    };
    Ok((name.to_owned(), op, value))
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::IsNullOrEmpty => "==",
            Self::IsNotNullNorEmpty => "!=",
            other => OPERATORS
                .iter()
                .find(|(_, op)| op == other)
                .map_or("", |(text, _)| text),
        };
        f.write_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(segment name, op, value)` per OR term per AND term.
    fn shape(definition: &str) -> Vec<Vec<(&'static str, Op, String)>> {
        parse(definition)
            .unwrap_or_else(|err| panic!("{definition}: {err}"))
            .terms()
            .iter()
            .map(|ors| {
                ors.iter()
                    .map(|c| (c.dimension.segment, c.op, c.value.clone()))
                    .collect()
            })
            .collect()
    }

    fn error(definition: &str) -> String {
        parse(definition).expect_err(definition).to_string()
    }

    #[test]
    fn every_operator_parses_and_or_binds_tighter_than_and() {
        for (text, op) in OPERATORS {
            let parsed = shape(&format!("visitCount{text}3"));
            assert_eq!(parsed, [[("visitCount", op, "3".to_owned())]], "{text}");
        }
        let parsed = shape("actions<=2;browserName!@Safari,referrerType==search");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0], [("actions", Op::LessOrEqual, "2".to_owned())]);
        assert_eq!(
            parsed[1],
            [
                ("browserName", Op::DoesNotContain, "Safari".to_owned()),
                ("referrerType", Op::Equal, "search".to_owned())
            ]
        );
    }

    #[test]
    fn text_matches_become_escaped_like_patterns() {
        let pattern = |definition: &str| parse(definition).unwrap().terms()[0][0].like_pattern();
        assert_eq!(
            pattern("pageTitle=@50%25_off").as_deref(),
            Some("%50\\%\\_off%")
        );
        assert_eq!(pattern("pageTitle!@a").as_deref(), Some("%a%"));
        assert_eq!(pattern("referrerName=^goo").as_deref(), Some("goo%"));
        assert_eq!(pattern("pageUrl=$%2Fcart").as_deref(), Some("%/cart"));
        assert_eq!(pattern("pageTitle==a%25"), None);
    }

    #[test]
    fn empty_values_mean_null_tests_only_with_equal_and_not_equal() {
        assert_eq!(
            shape("userId!="),
            [[("userId", Op::IsNotNullNorEmpty, String::new())]]
        );
        assert_eq!(
            shape("userId=="),
            [[("userId", Op::IsNullOrEmpty, String::new())]]
        );
        assert_eq!(
            error("userId=@"),
            "The segment 'userId=@' has no value specified. You can leave this value empty \
             only when you use the operators: != (is not) or == (is)"
        );
    }

    #[test]
    fn values_are_url_decoded_and_double_encoding_is_undone() {
        assert_eq!(shape("pageUrl=@%2Fcheckout")[0][0].2, "/checkout");
        // The whole definition encoded once more, as reports' `segment` columns show it.
        assert_eq!(
            shape("pageUrl%3D%3Dhttp%253A%252F%252Fa.example%252Fx")[0][0],
            ("pageUrl", Op::Equal, "http://a.example/x".to_owned())
        );
        // An encoded `;` inside a value stays in the value when the raw form parses into more
        // conditions... and splits when decoding gives more.
        assert_eq!(shape("pageTitle==a%3Bb").len(), 1);
        assert_eq!(shape("pageTitle==a%3Bb")[0][0].2, "a;b");
        assert_eq!(shape("pageTitle%3D%3Da%3BvisitCount%3D%3D2").len(), 2);
    }

    #[test]
    fn backslash_escapes_the_delimiters_and_a_trailing_delimiter_is_kept() {
        assert_eq!(shape(r"pageTitle==a\;b\,c")[0][0].2, "a;b,c");
        assert_eq!(shape("pageTitle==a;")[0][0].2, "a;");
        assert_eq!(shape("pageTitle==a,")[0][0].2, "a,");
        // Empty AND terms are dropped; an empty OR term is not a condition.
        assert_eq!(shape("visitCount==1;;visitCount==2").len(), 2);
        assert_eq!(
            error("visitCount==1,,visitCount==2"),
            "The segment condition '' is not valid."
        );
    }

    #[test]
    fn the_first_operator_after_a_non_empty_name_wins() {
        assert_eq!(shape("pageTitle==a==b")[0][0].2, "a==b");
        assert_eq!(
            shape("pageTitle=@<b>")[0][0],
            ("pageTitle", Op::Contains, "<b>".to_owned())
        );
        assert_eq!(error("==x"), "The segment condition '==x' is not valid.");
    }

    #[test]
    fn errors_are_matomos() {
        assert_eq!(
            error("visitCount"),
            "The segment condition 'visitCount' is not valid."
        );
        assert_eq!(
            error("nope==1"),
            "Segment 'nope' is not a supported segment."
        );
        assert_eq!(
            error("visitCount==1;nope==1"),
            "Segment 'nope' is not a supported segment."
        );
        // Syntax comes before names, as Matomo parses every condition first.
        assert_eq!(
            error("nope==1;visitCount"),
            "The segment condition 'visitCount' is not valid."
        );
        assert_eq!(
            error("a\n==1"),
            "The segment condition 'a\n==1' is not valid."
        );
    }

    #[test]
    fn blank_and_zero_are_all_visits() {
        assert!(parse("").unwrap().is_empty());
        assert!(parse("  ").unwrap().is_empty());
        assert!(parse("0").unwrap().is_empty());
        let segment = parse(" visitCount>=2 ").unwrap();
        assert_eq!(segment.definition(), "visitCount>=2");
    }

    #[test]
    fn long_definitions_are_cut_at_the_limit_on_a_character_boundary() {
        let long = format!("pageTitle=={}", "é".repeat(TRUNCATE_LIMIT));
        let segment = parse(&long).unwrap();
        assert!(segment.terms()[0][0].value.len() <= TRUNCATE_LIMIT);
    }

    #[test]
    fn random_bytes_never_panic() {
        // A fixed xorshift stream: the same inputs on every run, biased towards the syntax.
        let alphabet: &[u8] = b"=!<>@^$;,\\%+0123456789aAcvx\n \xc3\xa9";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 4 == 0 {
                        (r >> 8) as u8
                    } else {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    }
                })
                .collect();
            let text = String::from_utf8_lossy(&bytes);
            let prefixed = format!("visitCount{text}");
            for input in [text.as_ref(), prefixed.as_str()] {
                if let Ok(segment) = parse(input) {
                    assert!(segment.terms().iter().all(|ors| !ors.is_empty()));
                }
            }
        }
    }
}
