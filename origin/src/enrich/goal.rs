//! Goal matching for action-based goals (URL, title, download, outlink, event) and manual goals.
//!
//! Source: matomo-org/matomo `core/Tracker/GoalManager.php` (`detectGoalMatch`,
//! `isUrlMatchingGoal`, `isGoalPatternMatchingUrl`, `formatRegex`), `plugins/Goals/API.php`.
//! Rules: a goal only looks at actions of its own kind (url/title: pageviews; file: downloads;
//! external_website: outlinks; event_*: events); `manually` goals never match an action (they
//! convert through `idgoal=`). The compared value is the raw tracked URL (`getActionUrlRaw`, not
//! the normalised one), the page title, or the event field. `contains` is `strpos`/`stripos`,
//! `exact` is `strcmp`/`strcasecmp`, `regex` is `/pattern/` with `i` unless case-sensitive.
//! When the pattern does not match it is URL-decoded and tried again (users paste encoded URLs).
//! Visit-based goals (`visit_duration`, `visit_total_actions`, ...) are not handled here.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use regex::{Regex, RegexBuilder};

use super::url::url_decode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchAttribute {
    Url,
    Title,
    File,
    ExternalWebsite,
    Manually,
    EventCategory,
    EventAction,
    EventName,
}

impl MatchAttribute {
    /// Parses `Goals.addGoal`'s `matchAttribute`; `None` for unknown and visit-based ones.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "url" => Self::Url,
            "title" => Self::Title,
            "file" => Self::File,
            "external_website" => Self::ExternalWebsite,
            "manually" => Self::Manually,
            "event_category" => Self::EventCategory,
            "event_action" => Self::EventAction,
            "event_name" => Self::EventName,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternType {
    Contains,
    Exact,
    Regex,
}

impl PatternType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "contains" => Self::Contains,
            "exact" => Self::Exact,
            "regex" => Self::Regex,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GoalDef {
    pub idgoal: i64,
    pub match_attribute: MatchAttribute,
    pub pattern: String,
    pub pattern_type: PatternType,
    pub case_sensitive: bool,
    pub allow_multiple: bool,
    pub revenue: f64,
}

/// The kind of tracked action a goal is checked against, with the event's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKindForGoal<'a> {
    Pageview,
    Download,
    Outlink,
    Event {
        category: &'a str,
        action: &'a str,
        name: Option<&'a str>,
    },
    /// Site searches, content interactions and others: no action goal matches them.
    Other,
}

/// Whether the action converts `goal`. `url` is the raw tracked URL of the action (the page
/// URL for pageviews and events, the link for downloads and outlinks), `title` the page title.
pub fn matches(
    goal: &GoalDef,
    url: &str,
    title: Option<&str>,
    kind: ActionKindForGoal<'_>,
) -> bool {
    let subject = match (goal.match_attribute, kind) {
        (MatchAttribute::Url, ActionKindForGoal::Pageview)
        | (MatchAttribute::File, ActionKindForGoal::Download)
        | (MatchAttribute::ExternalWebsite, ActionKindForGoal::Outlink) => url,
        (MatchAttribute::Title, ActionKindForGoal::Pageview) => title.unwrap_or(""),
        (MatchAttribute::EventCategory, ActionKindForGoal::Event { category, .. }) => category,
        (MatchAttribute::EventAction, ActionKindForGoal::Event { action, .. }) => action,
        (MatchAttribute::EventName, ActionKindForGoal::Event { name, .. }) => name.unwrap_or(""),
        _ => return false,
    };
    if pattern_matches(goal, &goal.pattern, subject) {
        return true;
    }
    let decoded = url_decode(&goal.pattern);
    decoded != goal.pattern.as_str() && pattern_matches(goal, &decoded, subject)
}

fn pattern_matches(goal: &GoalDef, pattern: &str, subject: &str) -> bool {
    match goal.pattern_type {
        PatternType::Contains => {
            if goal.case_sensitive {
                subject.contains(pattern)
            } else {
                subject.to_lowercase().contains(&pattern.to_lowercase())
            }
        }
        PatternType::Exact => {
            if goal.case_sensitive {
                subject == pattern
            } else {
                subject.to_lowercase() == pattern.to_lowercase()
            }
        }
        PatternType::Regex => {
            cached_regex(pattern, goal.case_sensitive).is_some_and(|re| re.is_match(subject))
        }
    }
}

const REGEX_CACHE_CAPACITY: usize = 1024;

type RegexCache = RwLock<HashMap<(String, bool), Option<Regex>>>;

/// Goal patterns are few and reused on every action: compile each once.
static REGEXES: LazyLock<RegexCache> = LazyLock::new(|| RwLock::new(HashMap::new()));

fn cached_regex(pattern: &str, case_sensitive: bool) -> Option<Regex> {
    let key = (pattern.to_owned(), case_sensitive);
    if let Ok(cache) = REGEXES.read() {
        if let Some(hit) = cache.get(&key) {
            return hit.clone();
        }
    }
    // An invalid pattern never matches, like `@preg_match` returning false in Matomo.
    let compiled = RegexBuilder::new(pattern)
        .case_insensitive(!case_sensitive)
        .build()
        .ok();
    if let Ok(mut cache) = REGEXES.write() {
        if cache.len() >= REGEX_CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(key, compiled.clone());
    }
    compiled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goal(
        attribute: MatchAttribute,
        pattern: &str,
        pattern_type: PatternType,
        case_sensitive: bool,
    ) -> GoalDef {
        GoalDef {
            idgoal: 1,
            match_attribute: attribute,
            pattern: pattern.to_owned(),
            pattern_type,
            case_sensitive,
            allow_multiple: false,
            revenue: 10.0,
        }
    }

    #[test]
    fn url_contains_matches_pageviews_ignoring_case() {
        let g = goal(MatchAttribute::Url, "/thanks", PatternType::Contains, false);
        assert!(matches(
            &g,
            "https://shop.example.com/checkout/THANKS?order=1",
            None,
            ActionKindForGoal::Pageview
        ));
        assert!(!matches(
            &g,
            "https://shop.example.com/cart",
            None,
            ActionKindForGoal::Pageview
        ));
        // The same URL as a download or outlink is not a pageview.
        assert!(!matches(
            &g,
            "https://shop.example.com/thanks",
            None,
            ActionKindForGoal::Download
        ));
    }

    #[test]
    fn case_sensitive_contains_respects_case() {
        let g = goal(MatchAttribute::Url, "/Thanks", PatternType::Contains, true);
        assert!(!matches(
            &g,
            "https://a.b/thanks",
            None,
            ActionKindForGoal::Pageview
        ));
        assert!(matches(
            &g,
            "https://a.b/Thanks",
            None,
            ActionKindForGoal::Pageview
        ));
    }

    #[test]
    fn exact_compares_the_whole_url() {
        let g = goal(
            MatchAttribute::Url,
            "https://a.b/done",
            PatternType::Exact,
            false,
        );
        assert!(matches(
            &g,
            "HTTPS://A.B/DONE",
            None,
            ActionKindForGoal::Pageview
        ));
        assert!(!matches(
            &g,
            "https://a.b/done?x=1",
            None,
            ActionKindForGoal::Pageview
        ));
    }

    #[test]
    fn regex_goals_match_and_invalid_regexes_never_do() {
        let g = goal(
            MatchAttribute::Url,
            r"checkout/thanks\?order=\d+",
            PatternType::Regex,
            false,
        );
        assert!(matches(
            &g,
            "https://a.b/Checkout/Thanks?order=12",
            None,
            ActionKindForGoal::Pageview
        ));
        let bad = goal(MatchAttribute::Url, "(", PatternType::Regex, false);
        assert!(!matches(&bad, "(", None, ActionKindForGoal::Pageview));
    }

    #[test]
    fn encoded_patterns_are_retried_decoded() {
        let g = goal(
            MatchAttribute::Url,
            "/caf%C3%A9",
            PatternType::Contains,
            false,
        );
        assert!(matches(
            &g,
            "https://a.b/café",
            None,
            ActionKindForGoal::Pageview
        ));
    }

    #[test]
    fn title_file_outlink_and_event_attributes_read_their_own_field() {
        let t = goal(
            MatchAttribute::Title,
            "Thank you",
            PatternType::Contains,
            false,
        );
        assert!(matches(
            &t,
            "https://a.b/",
            Some("Thank you!"),
            ActionKindForGoal::Pageview
        ));
        let f = goal(MatchAttribute::File, ".pdf", PatternType::Contains, false);
        assert!(matches(
            &f,
            "https://a.b/x.PDF",
            None,
            ActionKindForGoal::Download
        ));
        assert!(!matches(
            &f,
            "https://a.b/x.pdf",
            None,
            ActionKindForGoal::Outlink
        ));
        let o = goal(
            MatchAttribute::ExternalWebsite,
            "partner",
            PatternType::Contains,
            false,
        );
        assert!(matches(
            &o,
            "https://partner.example.net/deal",
            None,
            ActionKindForGoal::Outlink
        ));
        let e = goal(
            MatchAttribute::EventAction,
            "play",
            PatternType::Exact,
            false,
        );
        let event = ActionKindForGoal::Event {
            category: "Video",
            action: "Play",
            name: None,
        };
        assert!(matches(&e, "https://a.b/", None, event));
        assert!(!matches(
            &e,
            "https://a.b/",
            None,
            ActionKindForGoal::Pageview
        ));
    }

    #[test]
    fn manual_goals_never_match_actions() {
        let g = goal(MatchAttribute::Manually, ".*", PatternType::Regex, false);
        assert!(!matches(
            &g,
            "https://a.b/",
            Some("x"),
            ActionKindForGoal::Pageview
        ));
        assert_eq!(
            MatchAttribute::parse("manually"),
            Some(MatchAttribute::Manually)
        );
        assert_eq!(PatternType::parse("regex"), Some(PatternType::Regex));
        assert_eq!(MatchAttribute::parse("visit_duration"), None);
    }
}
