//! The segments Edgemeter knows: one row per segment, with what `API.getSegmentsMetadata`
//! shows (type, category, name, accepted values) and what an archiver needs (the log table and
//! column, and how a value maps to the stored one).
//!
//! The rows are Matomo 5's visit, action and conversion dimensions (`plugins/*/Columns/*.php`:
//! `$segmentName`, `$nameSingular` or the name `configureSegments` sets, `$category` or the
//! base class's: `VisitDimension` "Visitors", `ActionDimension` "Actions"; `$acceptValues`)
//! whose columns the stored logs have. Left out because nothing stores them yet: the product
//! segments (no `log_conversion_item`, no product columns on actions), custom variables, the
//! time parts other than hours, the custom dimensions (`dimensionN`: their names and scopes are
//! per site), and `visitIp`, `visitConvertedGoalName`, `actionUrl`, `actionType` (asking for
//! one answers "not a supported segment", never a silently wrong report).
//!
//! The type is `metric` for number, float, money and duration dimensions, else `dimension`
//! (`DimensionSegmentFactory::createSegment`). Categories sort by their `Categories/*.php`
//! order (`SegmentMetadata::sortSegments`).

use crate::store::visits::ActionType;

/// `Segment::TYPE_DIMENSION` / `TYPE_METRIC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Metric,
    Dimension,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Metric => "metric",
            Self::Dimension => "dimension",
        }
    }
}

/// A segment category, in Matomo's order (`plugins/*/Categories/*Category.php` `$order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    /// `General_Visitors`, order 5.
    Visitors,
    /// `UserCountry_VisitLocation`, order 7.
    VisitLocation,
    /// `General_Actions`, order 10.
    Actions,
    /// `Events_Events`, order 12.
    Events,
    /// `Referrers_Referrers`, order 15.
    Referrers,
    /// `Goals_Ecommerce`, order 20.
    Ecommerce,
}

impl Category {
    /// The English display name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Visitors => "Visitors",
            Self::VisitLocation => "Visitor location",
            Self::Actions => "Actions",
            Self::Events => "Events",
            Self::Referrers => "Referrers",
            Self::Ecommerce => "Ecommerce",
        }
    }
}

/// Where a segment's value is stored. A visit matches an action or conversion segment when one
/// of its actions or conversions matches (Matomo joins the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A column of `log_visit`.
    Visit(&'static str),
    /// A column of `log_link_visit_action`.
    Action(&'static str),
    /// A column of `log_conversion`.
    Conversion(&'static str),
}

/// How a segment value maps onto the stored value (Matomo's `sqlFilterValue`/`sqlFilter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    /// Compared as stored (text).
    Text,
    /// Compared as a number.
    Number,
    /// A name standing for a stored code (`referrerType==search` is `referer_type = 2`).
    Codes(&'static [(&'static str, i64)]),
    /// Days, stored as seconds (`(int) $value * 86400`).
    Days,
    /// Lower-cased before comparing (`countryCode`, `continentCode`: `strtolower`).
    Lowercase,
    /// A DeviceDetector device type name (`crate::enrich::device::DEVICE_TYPE_NAMES`,
    /// case-insensitive) standing for `config_device_type`.
    DeviceType,
    /// A browser name standing for its DeviceDetector code (`browserName==Chrome` is `CH`).
    BrowserName,
    /// An operating system name standing for its DeviceDetector code.
    OsName,
    /// A country name standing for its ISO code.
    CountryName,
    /// 16 hexadecimal characters standing for a binary id (`idvisitor`, `config_id`).
    Hex,
    /// The hour (0-23) of a time column: the site's time zone for server times
    /// (`visitServerHour`), the visitor's own clock for `visitor_localtime`.
    Hour,
    /// The name of a `log_action` of this type, joined through the column
    /// (`TableLogAction::getIdActionFromSegment`: URLs compare without their protocol).
    Action(ActionType),
}

/// One segment.
#[derive(Debug, PartialEq)]
pub struct Dimension {
    /// The name in a definition (`pageUrl`).
    pub segment: &'static str,
    /// The English name shown by `API.getSegmentsMetadata`.
    pub name: &'static str,
    pub category: Category,
    pub kind: Kind,
    pub source: Source,
    pub values: Values,
    /// `acceptedValues`, when Matomo documents them.
    pub accepted: Option<&'static str>,
    /// False for the segments Matomo keeps from the anonymous user
    /// (`Dimension::$allowAnonymous = false`; metadata `permission`).
    pub anonymous: bool,
}

const fn row(
    segment: &'static str,
    name: &'static str,
    category: Category,
    kind: Kind,
    source: Source,
    values: Values,
    accepted: Option<&'static str>,
) -> Dimension {
    Dimension {
        segment,
        name,
        category,
        kind,
        source,
        values,
        accepted,
        anonymous: true,
    }
}

/// A segment the anonymous user may not use.
const fn private(dimension: Dimension) -> Dimension {
    Dimension {
        anonymous: false,
        ..dimension
    }
}

use Category::{Actions, Ecommerce, Events, Referrers, VisitLocation, Visitors};
use Kind::{Dimension as Dim, Metric};
use Source::{Action, Conversion, Visit};

/// `Common::REFERRER_TYPE_*` by segment value (`Referrers/Columns/ReferrerType.php`).
const REFERRER_TYPES: &[(&str, i64)] = &[
    ("direct", 1),
    ("search", 2),
    ("website", 3),
    ("campaign", 6),
    ("social", 7),
];
/// `visitor_returning` by segment value (`CoreHome/Columns/VisitorReturning.php`).
const VISITOR_TYPES: &[(&str, i64)] = &[("new", 0), ("returning", 1), ("returningCustomer", 2)];
/// `visit_goal_buyer` by segment value (`CoreHome/Columns/VisitGoalBuyer.php`).
const ECOMMERCE_STATUSES: &[(&str, i64)] = &[
    ("none", 0),
    ("ordered", 1),
    ("abandonedCart", 2),
    ("orderedThenAbandonedCart", 3),
];

/// Every segment, in no particular order ([`metadata_order`] sorts them).
#[rustfmt::skip]
pub static CATALOGUE: &[Dimension] = &[
    // Visitors: the visit's own columns.
    row("actions", "Actions In Visit", Visitors, Metric, Visit("visit_total_actions"), Values::Number, None),
    row("interactions", "Number of Interactions", Visitors, Metric, Visit("visit_total_interactions"), Values::Number, Some("Any positive integer")),
    row("searches", "Number of Internal Searches", Visitors, Metric, Visit("visit_total_searches"), Values::Number, Some("To select all visits who used internal Site Search, use: &segment=searches>0")),
    row("events", "Events", Visitors, Metric, Visit("visit_total_events"), Values::Number, Some("To select all visits who triggered an Event, use: &segment=events>0")),
    row("visitDuration", "Visit Duration (in seconds)", Visitors, Metric, Visit("visit_total_time"), Values::Number, None),
    row("visitCount", "Number of visits", Visitors, Metric, Visit("visitor_count_visits"), Values::Number, None),
    row("daysSinceFirstVisit", "Days since first visit", Visitors, Metric, Visit("visitor_seconds_since_first"), Values::Days, None),
    row("secondsSinceFirstVisit", "Seconds since first visit", Visitors, Metric, Visit("visitor_seconds_since_first"), Values::Number, None),
    row("daysSinceLastVisit", "Days since last visit", Visitors, Metric, Visit("visitor_seconds_since_last"), Values::Days, None),
    row("secondsSinceLastVisit", "Seconds since last visit", Visitors, Metric, Visit("visitor_seconds_since_last"), Values::Number, None),
    row("daysSinceLastEcommerceOrder", "Days since last Ecommerce order", Visitors, Metric, Visit("visitor_seconds_since_order"), Values::Days, None),
    row("secondsSinceLastEcommerceOrder", "Seconds since last Ecommerce order", Visitors, Metric, Visit("visitor_seconds_since_order"), Values::Number, None),
    row("visitorType", "Visit type", Visitors, Dim, Visit("visitor_returning"), Values::Codes(VISITOR_TYPES), Some("new, returning, returningCustomer. For example, to select all visitors who have returned to the website, including those who have bought something in their previous visits, the API request would contain \"&segment=visitorType==returning,visitorType==returningCustomer\"")),
    row("visitConverted", "Visit converted at least one Goal", Visitors, Dim, Visit("visit_goal_converted"), Values::Number, Some("0, 1")),
    row("visitEcommerceStatus", "Visit Ecommerce status at the end of the visit", Visitors, Dim, Visit("visit_goal_buyer"), Values::Codes(ECOMMERCE_STATUSES), Some("none, ordered, abandonedCart, orderedThenAbandonedCart")),
    row("visitConvertedGoalId", "Visit converted a specific Goal Id", Visitors, Dim, Conversion("idgoal"), Values::Number, Some("1, 2, 3, etc.")),
    row("profilable", "Profilable", Visitors, Dim, Visit("profilable"), Values::Number, Some("1 for profilable (eg cookies were used), 0 for not profilable (eg no cookies were used)")),
    row("visitServerHour", "Site time — hour (time of last action)", Visitors, Dim, Visit("visit_last_action_time"), Values::Hour, Some("0, 1, 2, 3, ..., 20, 21, 22, 23")),
    row("visitStartServerHour", "Site time — hour (start of visit)", Visitors, Dim, Visit("visit_first_action_time"), Values::Hour, Some("0, 1, 2, 3, ..., 20, 21, 22, 23")),
    row("visitLocalHour", "Local time — hour (start of visit)", Visitors, Dim, Visit("visitor_localtime"), Values::Hour, Some("0, 1, 2, 3, ..., 20, 21, 22, 23")),
    row("resolution", "Resolution", Visitors, Dim, Visit("config_resolution"), Values::Text, Some("1280x1024, 800x600, etc.")),
    row("browserCode", "Browser code", Visitors, Dim, Visit("config_browser_name"), Values::Text, Some("FF, IE, CH, SF, OP etc.")),
    row("browserName", "Browser", Visitors, Dim, Visit("config_browser_name"), Values::BrowserName, Some("FireFox, Internet Explorer, Chrome, Safari, Opera etc.")),
    row("browserVersion", "Browser version", Visitors, Dim, Visit("config_browser_version"), Values::Text, Some("1.0, 8.0, etc.")),
    row("browserEngine", "Browser engine", Visitors, Dim, Visit("config_browser_engine"), Values::Text, Some("Trident, WebKit, Presto, Gecko, Blink, etc.")),
    row("operatingSystemCode", "Operating system code", Visitors, Dim, Visit("config_os"), Values::Text, Some("WIN, LIN, MAX, AND, IOS etc.")),
    row("operatingSystemName", "Operating system", Visitors, Dim, Visit("config_os"), Values::OsName, Some("Windows, Linux, Mac, Android, iOS etc.")),
    row("operatingSystemVersion", "Operating system version", Visitors, Dim, Visit("config_os_version"), Values::Text, Some("XP, 7, 2.3, 5.1, ...")),
    row("deviceType", "Device type", Visitors, Dim, Visit("config_device_type"), Values::DeviceType, Some("desktop, smartphone, tablet, feature phone, console, tv, car browser, smart display, camera, portable media player, phablet, smart speaker, wearable, peripheral")),
    row("deviceBrand", "Device brand", Visitors, Dim, Visit("config_device_brand"), Values::Text, None),
    row("deviceModel", "Device model", Visitors, Dim, Visit("config_device_model"), Values::Text, Some("iPad, Nexus 5, Galaxy S5, Fire TV, etc.")),
    private(row("userId", "User ID", Visitors, Dim, Visit("user_id"), Values::Text, Some("any non empty unique string identifying the user (such as an email address or a username)."))),
    private(row("visitorId", "Visitor ID", Visitors, Dim, Visit("idvisitor"), Values::Hex, Some("34c31e04394bdc63 - any 16 Hexadecimal chars ID, which can be fetched using the Tracking API function getVisitorId()"))),
    private(row("fingerprint", "Fingerprint", Visitors, Dim, Visit("config_id"), Values::Hex, Some("1eceaa833348b187 - any 16 Hexadecimal chars ID, which can be fetched from API.getLastVisitsDetails"))),
    private(row("visitId", "Visit", Visitors, Dim, Visit("idvisit"), Values::Number, Some("Any integer."))),
    // Visitor location.
    row("countryCode", "Country code", VisitLocation, Dim, Visit("location_country"), Values::Lowercase, Some("ISO 3166-1 alpha-2 country codes (de, us, fr, in, es, etc.)")),
    row("countryName", "Country", VisitLocation, Dim, Visit("location_country"), Values::CountryName, Some("Germany, France, Spain, ...")),
    row("continentCode", "Continent", VisitLocation, Dim, Visit("location_country"), Values::Lowercase, Some("eur, asi, amc, amn, ams, afr, ant, oce")),
    row("regionCode", "Region", VisitLocation, Dim, Visit("location_region"), Values::Text, Some("01 02, OR, P8, etc.<br/>eg. region=BFC;country=fr")),
    row("latitude", "Latitude", VisitLocation, Dim, Visit("location_latitude"), Values::Number, Some("-33.578, 40.830, etc.<br/>You can select visitors within a lat/long range using &segment=lat&gt;X;lat&lt;Y;long&gt;M;long&lt;N.")),
    row("longitude", "Longitude", VisitLocation, Dim, Visit("location_longitude"), Values::Number, Some("-70.664, 14.326, etc.")),
    row("city", "City", VisitLocation, Dim, Visit("location_city"), Values::Text, Some("Sydney, Sao Paolo, Rome, etc.")),
    row("languageCode", "Language", VisitLocation, Dim, Visit("location_browser_lang"), Values::Lowercase, Some("de, fr, en-gb, zh-cn, etc.")),
    // Actions: a visit matches when one of its actions (or its entry or exit) does.
    row("pageUrl", "Page URL", Actions, Dim, Action("idaction_url"), Values::Action(ActionType::PageUrl), None),
    row("pageTitle", "Page Title", Actions, Dim, Action("idaction_name"), Values::Action(ActionType::PageTitle), None),
    row("entryPageUrl", "Entry Page URL", Actions, Dim, Visit("visit_entry_idaction_url"), Values::Action(ActionType::PageUrl), None),
    row("entryPageTitle", "Entry Page title", Actions, Dim, Visit("visit_entry_idaction_name"), Values::Action(ActionType::PageTitle), None),
    row("exitPageUrl", "Exit Page URL", Actions, Dim, Visit("visit_exit_idaction_url"), Values::Action(ActionType::PageUrl), None),
    row("exitPageTitle", "Exit Page Title", Actions, Dim, Visit("visit_exit_idaction_name"), Values::Action(ActionType::PageTitle), None),
    row("downloadUrl", "Download URL", Actions, Dim, Action("idaction_url"), Values::Action(ActionType::Download), None),
    row("outlinkUrl", "Clicked Outlink", Actions, Dim, Action("idaction_url"), Values::Action(ActionType::Outlink), None),
    row("siteSearchKeyword", "Keyword (Site Search)", Actions, Dim, Action("idaction_name"), Values::Action(ActionType::SiteSearch), None),
    row("siteSearchCategory", "Search Category", Actions, Dim, Action("search_cat"), Values::Text, None),
    row("siteSearchCount", "Keyword count (Site Search)", Actions, Dim, Action("search_count"), Values::Number, None),
    row("contentName", "Content Name", Actions, Dim, Action("idaction_content_name"), Values::Action(ActionType::ContentName), Some("The name of a content block, for instance \"Ad Sale\"")),
    row("contentPiece", "Content Piece", Actions, Dim, Action("idaction_content_piece"), Values::Action(ActionType::ContentPiece), Some("The actual content. For instance \"ad.jpg\" or \"My text ad\"")),
    row("contentTarget", "Content Target", Actions, Dim, Action("idaction_content_target"), Values::Action(ActionType::ContentTarget), Some("For instance the URL of a landing page: \"http://landingpage.example.com\"")),
    row("contentInteraction", "Content Interaction", Actions, Dim, Action("idaction_content_interaction"), Values::Action(ActionType::ContentInteraction), Some("The type of interaction with the content. For instance \"click\" or \"submit\".")),
    // Events.
    row("eventCategory", "Event Category", Events, Dim, Action("idaction_event_category"), Values::Action(ActionType::EventCategory), None),
    row("eventAction", "Event Action", Events, Dim, Action("idaction_event_action"), Values::Action(ActionType::EventAction), None),
    row("eventName", "Event Name", Events, Dim, Action("idaction_name"), Values::Action(ActionType::EventName), None),
    row("eventUrl", "Event URL", Events, Dim, Action("idaction_url"), Values::Action(ActionType::PageUrl), Some("The URL must be URL encoded, for example: http%3A%2F%2Fexample.com%2Fpath%2Fpage%3Fquery")),
    row("eventValue", "Event value", Events, Metric, Action("custom_float"), Values::Number, None),
    // Referrers.
    row("referrerType", "Channel Type", Referrers, Dim, Visit("referer_type"), Values::Codes(REFERRER_TYPES), Some("direct, search, website, campaign")),
    row("referrerName", "Referrer Name", Referrers, Dim, Visit("referer_name"), Values::Text, Some("twitter.com, www.facebook.com, Bing, Google, Yahoo, CampaignName")),
    row("referrerKeyword", "Keyword", Referrers, Dim, Visit("referer_keyword"), Values::Text, Some("Encoded%20Keyword, keyword")),
    row("referrerUrl", "Referrer URL", Referrers, Dim, Visit("referer_url"), Values::Text, Some("http%3A%2F%2Fwww.example.org%2Freferer-page.htm")),
    // Ecommerce.
    row("orderId", "Order ID", Ecommerce, Metric, Conversion("idorder"), Values::Text, None),
];

/// The segment of a name (case-sensitive, as Matomo's `array_key_exists`).
pub fn find(segment: &str) -> Option<&'static Dimension> {
    CATALOGUE
        .iter()
        .find(|dimension| dimension.segment == segment)
}

/// The catalogue in `API.getSegmentsMetadata`'s order (`SegmentMetadata::sortSegments`):
/// category order, then metrics before dimensions, then name ascending, then segment
/// descending (byte comparisons, as `strcmp`).
pub fn metadata_order() -> Vec<&'static Dimension> {
    let mut all: Vec<&Dimension> = CATALOGUE.iter().collect();
    all.sort_by(|a, b| {
        a.category
            .cmp(&b.category)
            .then(a.kind.cmp(&b.kind))
            .then(a.name.as_bytes().cmp(b.name.as_bytes()))
            .then(b.segment.as_bytes().cmp(a.segment.as_bytes()))
    });
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_are_unique_and_found() {
        for (i, dimension) in CATALOGUE.iter().enumerate() {
            assert!(
                CATALOGUE[..i]
                    .iter()
                    .all(|d| d.segment != dimension.segment),
                "{} twice",
                dimension.segment
            );
            assert_eq!(find(dimension.segment), Some(dimension));
        }
        assert_eq!(find("PageUrl"), None);
    }

    #[test]
    fn every_segment_of_the_conformance_calls_is_known() {
        // The 14 expressions of golden-seed3 use these.
        for name in [
            "actions",
            "browserName",
            "browserCode",
            "countryCode",
            "deviceType",
            "eventCategory",
            "pageUrl",
            "referrerName",
            "referrerType",
            "userId",
            "visitConvertedGoalId",
            "visitCount",
            "visitDuration",
            "visitorType",
        ] {
            assert!(find(name).is_some(), "{name}");
        }
    }

    /// Every `segment` a row of Matomo's golden answers carries names a known segment, except
    /// the kinds left out on purpose (see the module documentation).
    #[test]
    fn the_segments_of_matomos_report_rows_are_known() {
        fn walk(value: &serde_json::Value, found: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    for (key, inner) in map {
                        match inner.as_str() {
                            Some(definition) if key == "segment" => found.push(definition.into()),
                            _ => walk(inner, found),
                        }
                    }
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
                _ => {}
            }
        }
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/conformance/golden-seed3"
        );
        let mut definitions = Vec::new();
        for entry in std::fs::read_dir(dir).expect("tests/conformance/golden-seed3") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).unwrap();
                if let Ok(value) = serde_json::from_str(&text) {
                    walk(&value, &mut definitions);
                }
            }
        }
        assert!(definitions.len() > 1000, "{} segments", definitions.len());
        for definition in definitions {
            match crate::segment::parse(&definition) {
                Ok(segment) => assert!(!segment.is_empty(), "{definition}"),
                Err(crate::segment::SegmentError::Unsupported(name))
                    if name.starts_with("dimension") || name.starts_with("product") => {}
                Err(err) => panic!("{definition}: {err}"),
            }
        }
    }

    #[test]
    fn metadata_sorts_by_category_then_metrics_first_then_name() {
        let order = metadata_order();
        assert_eq!(order.len(), CATALOGUE.len());
        assert_eq!(order[0].segment, "actions");
        assert!(order.windows(2).all(|w| w[0].category <= w[1].category));
        let visitors: Vec<_> = order.iter().filter(|d| d.category == Visitors).collect();
        let first_dimension = visitors.iter().position(|d| d.kind == Dim).unwrap();
        assert!(visitors[first_dimension..].iter().all(|d| d.kind == Dim));
        assert_eq!(order.last().unwrap().segment, "orderId");
    }

    #[test]
    fn the_anonymous_user_is_kept_from_the_identifying_segments() {
        let private: Vec<_> = CATALOGUE
            .iter()
            .filter(|d| !d.anonymous)
            .map(|d| d.segment)
            .collect();
        assert_eq!(private, ["userId", "visitorId", "fingerprint", "visitId"]);
    }
}
