//! Matomo's visit rules for one request, inside the writer's transaction (spec/MATOMO.md 2.1-2.4).
//!
//! In order: refuse what Matomo refuses (unknown site, overrides without a token), exclude what it
//! excludes (bots, `rec`, site exclusions), recognise the visitor, decide whether the request
//! continues a visit or starts one, record the action, then the goals it converts, then remember
//! a past day for re-archiving.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Mutex, PoisonError},
};

use sha2::{Digest, Sha256};
use shared::request::{Action, LocalTime, PerformanceTimings, TrackingRequest, VisitorId};

use super::{group::Group, Exclusion, Facts, Item, Outcome, Rejection, SiteInfo};
use crate::{
    config::TrackerConfig,
    enrich::{client_hints::ClientHints, device, exclusion, goal, referrer, url},
    store::{
        visits::{self, ActionType, NewAction, NewConversion, StoredReferrer, Visit, VisitUpdate},
        Result,
    },
};

/// What the rules need besides the request.
pub(super) struct Rules<'a> {
    pub config: &'a TrackerConfig,
    pub fingerprint_key: &'a [u8],
    pub ip_mask_bytes: u8,
    /// The time the writer took the request, UNIX seconds (for the "past day" check).
    pub now: i64,
    /// The writer's dictionary ids, kept across groups.
    pub action_ids: &'a Mutex<ActionIds>,
}

/// Dictionary ids already looked up or inserted, keyed like `log_action`'s unique index
/// (type, hash of the name): a row's id never changes once it exists, so a hit saves the
/// INSERT and SELECT of [`visits::action_id`]. The writer clears it when a group's transaction
/// fails, because ids inserted in a rolled-back transaction do not exist.
#[derive(Debug, Default)]
pub(super) struct ActionIds {
    ids: HashMap<(ActionType, i64), i64>,
}

impl ActionIds {
    /// Entries kept at most (about 3 MB); the cache starts over when full.
    const MAX: usize = 100_000;

    fn get(&self, kind: ActionType, hash: i64) -> Option<i64> {
        self.ids.get(&(kind, hash)).copied()
    }

    fn insert(&mut self, kind: ActionType, hash: i64, idaction: i64) {
        if self.ids.len() >= Self::MAX {
            self.ids.clear();
        }
        self.ids.insert((kind, hash), idaction);
    }

    /// Forgets every id (after a rolled-back transaction).
    pub(super) fn clear(&mut self) {
        self.ids.clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.ids.len()
    }
}

/// The action a request records, with the dictionary ids it needs.
#[derive(Debug, Default)]
struct Recorded {
    url: Option<i64>,
    name: Option<i64>,
    counts_as_action: bool,
    is_pageview: bool,
    is_search: bool,
    is_event: bool,
    row: NewAction,
}

impl Recorded {
    /// The entry page of a visit that starts with this action (Matomo's `EntryPageUrl` and
    /// `EntryPageTitle::onVisit`): a pageview's URL and title; a site search has no URL (0,
    /// which a later pageview does not replace: only a missing entry URL is filled) and its
    /// keyword; other actions set neither (the URL is filled by the next pageview, the title never).
    fn entry(&self) -> (Option<i64>, Option<i64>) {
        if self.is_pageview {
            (self.url, self.name)
        } else if self.is_search {
            (Some(0), self.name)
        } else {
            (None, None)
        }
    }

    /// The exit page this action sets: pageviews set their URL and title; a site search sets no
    /// URL and its keyword (`Action::getIdActionUrlForEntryAndExitIds`); other actions leave the
    /// exit as it is.
    fn exit(&self) -> Option<(Option<i64>, Option<i64>)> {
        if self.is_pageview {
            Some((self.url, self.name))
        } else if self.is_search {
            Some((None, self.name))
        } else {
            None
        }
    }
}

/// What a request says about its visitor, worked out before any lookup: the writer gathers
/// these for a whole group to find the visits they continue in one query (`Group::prefetch`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Seen<'i> {
    /// The request's time (`cdt` or when it was received), UNIX seconds.
    pub time: i64,
    pub user_agent: &'i str,
    /// The IP the visit records: the request's `cip` when trusted, else the client's.
    pub ip: Option<IpAddr>,
    pub language: &'i str,
    /// The visitor's fingerprint for this site (Matomo's `config_id`).
    pub config_id: [u8; 8],
    /// The visitor id the request claims: the `uid` hash (when user ids overwrite visitor ids),
    /// else `cid`, else `_id`.
    pub claimed_visitor: Option<[u8; 8]>,
}

impl Rules<'_> {
    /// What the request says about its visitor (see [`Seen`]).
    pub(super) fn seen<'i>(&self, site: &SiteInfo, item: &'i Item) -> Seen<'i> {
        let req = &item.request;
        let facts = &item.facts;
        let time = req.resolve_time(facts.received_at);
        let user_agent = req
            .user_agent
            .as_deref()
            .or(facts.user_agent.as_deref())
            .unwrap_or("");
        let ip = if item.trusted {
            req.overrides.ip.or(facts.ip)
        } else {
            facts.ip
        };
        let language = req
            .lang
            .as_deref()
            .or(facts.accept_language.as_deref())
            .unwrap_or("");
        let user_id_hash = req
            .user_id
            .as_deref()
            .filter(|_| self.config.enable_userid_overwrites_visitorid)
            .map(|uid| VisitorId::from_user_id(uid).0);
        Seen {
            time,
            user_agent,
            ip,
            language,
            config_id: self.config_id(site, req, facts, ip, user_agent, language, time),
            claimed_visitor: user_id_hash
                .or(req.forced_visitor_id.map(|id| id.0))
                .or(req.visitor_id.map(|id| id.0)),
        }
    }

    /// What Matomo refuses (overrides without a token, unknown goals) and excludes (bots, `rec`,
    /// DNT, site exclusions), before anything is looked up: an outcome ends the request there.
    pub(super) fn screen(&self, site: &SiteInfo, item: &Item, seen: &Seen<'_>) -> Option<Outcome> {
        let req = &item.request;
        let facts = &item.facts;
        let max_cdt_age = self.config.custom_timestamp_max_age_without_token;
        if !item.trusted && req.requires_token_at(facts.received_at, max_cdt_age) {
            return Some(Outcome::Rejected(match overriding_param(req) {
                Some(param) => Rejection::NeedsToken(param),
                None => Rejection::CdtTooOld(max_cdt_age),
            }));
        }
        if let Some(idgoal) = req.ecommerce.idgoal.filter(|id| *id > 0) {
            if !site.goals.iter().any(|g| g.idgoal == idgoal) {
                return Some(Outcome::Rejected(Rejection::UnknownGoal(idgoal)));
            }
        }
        let device = device::detect_shared(seen.user_agent);
        let (ip, user_agent) = (seen.ip, seen.user_agent);

        // Exclusions, in Matomo's order (core/Tracker/VisitExcluded.php).
        let bot = device.is_bot || ip.is_some_and(exclusion::ip_is_known_bot);
        if bot && !req.bots {
            return Some(Outcome::Excluded(Exclusion::Bot));
        }
        if !req.rec {
            return Some(Outcome::Excluded(Exclusion::NoRec));
        }
        if self.config.honour_do_not_track && facts.dnt {
            return Some(Outcome::Excluded(Exclusion::DoNotTrack));
        }
        // `ca=1` promises a custom action a plugin handles; with none, Matomo ignores the request
        // (`core/Tracker/Action.php::factory` throws) rather than recording a pageview.
        if req.action == Action::NoAction && req.ecommerce.idgoal.is_none_or(|id| id <= 0) {
            return Some(Outcome::Excluded(Exclusion::CustomActionWithoutHandler));
        }
        if ip.is_some_and(|ip| exclusion::ip_excluded(ip, &site.exclusions.ips)) {
            return Some(Outcome::Excluded(Exclusion::ExcludedIp));
        }
        if exclusion::user_agent_excluded(user_agent, &site.exclusions.user_agents) {
            return Some(Outcome::Excluded(Exclusion::ExcludedUserAgent));
        }
        if site.exclusions.exclude_unknown_urls {
            if let Some(page) = req.url.as_deref() {
                if !exclusion::url_is_known(page, &site.site.urls) {
                    return Some(Outcome::Excluded(Exclusion::UnknownUrl));
                }
            }
        }

        None
    }

    /// Notes the dictionary names the item's action needs (by recording it once without ids),
    /// so that [`Self::resolve_gathered`] looks them up with the whole group's.
    pub(super) async fn gather_names(
        &self,
        group: &mut Group<'_>,
        site: &SiteInfo,
        item: &Item,
        seen: &Seen<'_>,
    ) -> Result<()> {
        if item.request.ping || self.screen(site, item, seen).is_some() {
            return Ok(());
        }
        group.gathering.get_or_insert_with(Vec::new);
        self.record_action(group, site, &item.request).await?;
        Ok(())
    }

    /// Looks up (inserting the new ones) every name noted by [`Self::gather_names`], in a few
    /// statements, into the cache of ids.
    pub(super) async fn resolve_gathered(&self, group: &mut Group<'_>) -> Result<()> {
        let Some(names) = group.gathering.take() else {
            return Ok(());
        };
        let ids = visits::action_ids(&mut group.tx, &names).await?;
        let mut cache = lock(self.action_ids);
        for (kind, hash, idaction) in ids {
            cache.insert(kind, hash, idaction);
        }
        Ok(())
    }

    pub(super) async fn process(
        &self,
        group: &mut Group<'_>,
        site: &SiteInfo,
        item: &Item,
        seen: &Seen<'_>,
    ) -> Result<Outcome> {
        if let Some(outcome) = self.screen(site, item, seen) {
            return Ok(outcome);
        }
        let req = &item.request;
        let facts = &item.facts;
        let Seen {
            time,
            user_agent,
            ip,
            language,
            config_id,
            claimed_visitor,
        } = *seen;
        let hints = ClientHints::for_request(req.uadata.as_deref(), &facts.client_hints);
        let device = device::detect_with_hints(user_agent, &hints);
        let idsite = i64::from(req.site_id.get());
        let last = self
            .find_visit(group, idsite, req, &config_id, claimed_visitor, time)
            .await?;

        let page_url = req.url.as_deref().unwrap_or("");
        let classify = |visit: Option<&Visit>| {
            referrer::classify(
                page_url,
                req.urlref.as_deref(),
                &site.site.urls,
                &site.exclusions.excluded_referrers,
                visit.and_then(visit_campaign),
            )
        };
        // Matomo classifies against the recognised visitor's last visit, and again against no
        // visit once a new one starts (`Visit::setVisitorInformation` clears the properties).
        let mut referrer = classify(last.as_ref());
        let continuing = last
            .as_ref()
            .filter(|visit| !self.starts_new_visit(site, req, visit, &referrer, time));
        if req.ping {
            return self
                .ping(
                    group,
                    site,
                    req,
                    continuing,
                    claimed_visitor,
                    &referrer,
                    time,
                )
                .await;
        }
        if continuing.is_none() && last.is_some() {
            referrer = classify(None);
        }

        let mut recorded = self.record_action(group, site, req).await?;
        let idvisitor = visitor_id(claimed_visitor, continuing, last.as_ref());
        let dimensions = self.dimension_values(site, req);

        let inserts_action =
            recorded.counts_as_action || recorded.row.idaction_content_name.is_some();
        // The visit row's update waits for this request's action, whose id it stores as the
        // visit's last action.
        let mut pending: Option<(VisitUpdate, Option<(i64, i64)>)> = None;
        let (idvisit, visitor_returning, visitor_count_visits, pageviews_before, known_referrer) =
            match continuing {
                Some(visit) => {
                    // The last action (id, time) is kept on the visit row; visits whose row does
                    // not have it yet (the one request that started them) look it up.
                    let previous = if !inserts_action {
                        None
                    } else if let (Some(id), Some(at)) =
                        (visit.last_idlink_va, visit.last_idlink_va_time)
                    {
                        Some((id, at))
                    } else {
                        group
                            .last_action(visit.idvisit)
                            .await?
                            .map(|p| (p.idlink_va, p.server_time))
                    };
                    if let Some((previous_id, previous_time)) = previous {
                        if recorded.counts_as_action {
                            let seconds =
                                (time - previous_time).clamp(0, self.config.visit_standard_length);
                            group.set_time_spent(previous_id, seconds);
                        }
                    }
                    // Matomo's "previous action" is the visit's exit page before this request
                    // (`ActionsRequestProcessor`), which only pageviews and site searches move.
                    recorded.row.idaction_url_ref = visit.visit_exit_idaction_url;
                    recorded.row.idaction_name_ref = visit.visit_exit_idaction_name;
                    // The time spent on the previous page runs from the visit's last request,
                    // which a goal conversion without action also moves, not from its last
                    // action (`Visit::getTimeSpentReferrerAction`: now minus
                    // `visit_last_action_time`, clamped to 0..visit_standard_length).
                    if recorded.counts_as_action {
                        recorded.row.time_spent_ref_action = Some(
                            (time - visit.visit_last_action_time)
                                .clamp(0, self.config.visit_standard_length),
                        );
                    }
                    // Every pageview adds one interaction and nothing else does, so the count
                    // of the visit's pageview actions is its `visit_total_interactions`.
                    let pageviews = visit.visit_total_interactions;
                    let replaces = replaces_direct_entry(visit, &referrer);
                    let update = VisitUpdate {
                        idvisitor: idvisitor.clone(),
                        user_id: req.user_id.clone(),
                        visit_last_action_time: time,
                        visit_total_time: (1 + time - visit.visit_first_action_time).max(0),
                        add_actions: i64::from(recorded.counts_as_action),
                        add_interactions: i64::from(recorded.is_pageview),
                        add_searches: i64::from(recorded.is_search),
                        add_events: i64::from(recorded.is_event),
                        entry_idaction_url: recorded.url.filter(|_| recorded.is_pageview),
                        exit: recorded.exit(),
                        referrer: replaces.then(|| stored_referrer(&referrer)),
                        custom_dimensions: dimensions.visit.clone(),
                        last_action: None,
                    };
                    // Goals see the visit's referrer after this request's update
                    // (`Referrers\Columns\Base::getValueForRecordGoal` reads the visitor columns).
                    let known = if replaces {
                        (
                            Some(referrer.kind as i64),
                            referrer.name.clone(),
                            referrer.keyword.clone(),
                        )
                    } else {
                        (
                            visit.referer_type,
                            visit.referer_name.clone(),
                            visit.referer_keyword.clone(),
                        )
                    };
                    let returning = i64::from(visit.visitor_count_visits > 1);
                    pending = Some((update, previous));
                    (
                        visit.idvisit,
                        returning,
                        visit.visitor_count_visits,
                        pageviews,
                        known,
                    )
                }
                None => {
                    let visit = self.new_visit(
                        req,
                        facts,
                        ip,
                        &device,
                        language,
                        &config_id,
                        &idvisitor,
                        last.as_ref(),
                        &referrer,
                        &recorded,
                        &dimensions.visit,
                        time,
                    );
                    let known = (
                        visit.referer_type,
                        visit.referer_name.clone(),
                        visit.referer_keyword.clone(),
                    );
                    let (returning, count) = (visit.visitor_returning, visit.visitor_count_visits);
                    (group.insert_visit(visit), returning, count, 0, known)
                }
            };

        let mut idlink_va = None;
        if recorded.counts_as_action || recorded.row.idaction_content_name.is_some() {
            recorded.row.idsite = idsite;
            recorded.row.idvisitor.clone_from(&idvisitor);
            recorded.row.idvisit = idvisit;
            recorded.row.server_time = time;
            recorded
                .row
                .set_custom_dimensions(dimensions.action.clone());
            if recorded.is_pageview {
                recorded.row.pageview_position = Some(pageviews_before + 1);
            }
            let id = group.insert_action(std::mem::take(&mut recorded.row));
            if pending.is_none() {
                // A new visit: its first action is its latest.
                group.change_visit(idvisit, |visit| {
                    visit.last_idlink_va = Some(id);
                    visit.last_idlink_va_time = Some(time);
                });
            }
            idlink_va = Some(id);
        }
        if let Some((mut update, previous)) = pending {
            // The latest action by (server_time, idlink_va), as `visits::last_action` orders
            // them; a new id is always the highest, so it wins a tie.
            update.last_action = idlink_va.map(|new| match previous {
                Some((id, at)) if at > time => (id, at),
                _ => (new, time),
            });
            group.update_visit(idvisit, &update);
        }

        // Goals: the manually triggered one, then those the action matches.
        let mut converted = Vec::new();
        if let Some(idgoal) = req.ecommerce.idgoal.filter(|id| *id > 0) {
            converted.extend(site.goals.iter().filter(|g| g.idgoal == idgoal));
        } else if let Some((goal_url, kind)) = goal_subject(req, recorded.is_pageview) {
            let title = req.action_name.as_deref();
            converted.extend(
                site.goals
                    .iter()
                    .filter(|g| goal::matches(g, goal_url, title, kind)),
            );
        }
        for goal in &converted {
            if !goal.allow_multiple && group.has_conversion(idvisit, goal.idgoal).await? {
                continue;
            }
            let conversion = NewConversion {
                idvisit,
                idsite,
                idvisitor: idvisitor.clone(),
                server_time: time,
                idaction_url: recorded.url,
                idlink_va,
                idgoal: goal.idgoal,
                // Matomo's buster keeps multiple conversions of one goal in one visit apart.
                buster: if goal.allow_multiple { time } else { 0 },
                url: page_url.to_owned(),
                revenue: Some(req.ecommerce.revenue.unwrap_or(goal.revenue)),
                visitor_returning,
                visitor_count_visits,
                referer_type: known_referrer.0,
                referer_name: known_referrer.1.clone(),
                referer_keyword: known_referrer.2.clone(),
                pageviews_before: pageviews_before + i64::from(recorded.is_pageview),
            };
            group.insert_conversion(conversion);
        }
        // A request that matches a goal converts the visit even when the goal had already
        // converted in it (Matomo's `visitIsConverted`). For a recognised visitor Matomo then adds
        // the request's `idgoal` parameter (-1 when absent) + 2 seconds to the visit length, once
        // (plugins/CoreHome/Columns/VisitTotalTime.php::onConvertedVisit): a trick to make the
        // UPDATE change the row; report sums of visit length include it.
        if !converted.is_empty() {
            group.change_visit(idvisit, |visit| visit.visit_goal_converted = 1);
            if last.is_some() {
                let idgoal_param = req.ecommerce.idgoal.unwrap_or(-1);
                group.change_visit(idvisit, |visit| visit.visit_total_time += idgoal_param + 2);
            }
        }

        let day = site.tz.local_date(time);
        if day < site.tz.local_date(self.now) {
            group.invalidate(idsite, day.to_string());
        }
        Ok(Outcome::Tracked)
    }

    /// A `ping=1` heartbeat. Matomo drops it when it would start a visit
    /// (`plugins/Heartbeat/Tracker/PingRequestProcessor.php`: any reason of
    /// [`Self::starts_new_visit`]); otherwise it runs every `onExistingVisit` hook of the visit
    /// (`core/Tracker/Visit.php::handleExistingVisit`) without recording an action: the visit
    /// length becomes 1 + now - first action (`VisitTotalTime::onExistingVisit`), the last action
    /// time stays (`VisitLastActionTime::onExistingVisit` skips pings), and like any request of the
    /// visit it sets `user_id` and `idvisitor` from its `uid`/`_id` (`UserId::onExistingVisit`,
    /// `Visit::setIdVisitorForExistingVisit`), a direct entry takes its referrer, and visit-scoped
    /// custom dimensions take its values.
    #[allow(clippy::too_many_arguments)]
    async fn ping(
        &self,
        group: &mut Group<'_>,
        site: &SiteInfo,
        req: &TrackingRequest,
        continuing: Option<&Visit>,
        claimed_visitor: Option<[u8; 8]>,
        referrer: &referrer::Referrer,
        time: i64,
    ) -> Result<Outcome> {
        let Some(visit) = continuing else {
            return Ok(Outcome::Excluded(Exclusion::PingWithoutVisit));
        };
        let update = VisitUpdate {
            idvisitor: visitor_id(claimed_visitor, Some(visit), Some(visit)),
            user_id: req.user_id.clone(),
            visit_last_action_time: visit.visit_last_action_time,
            visit_total_time: (1 + time - visit.visit_first_action_time).max(0),
            add_actions: 0,
            add_interactions: 0,
            add_searches: 0,
            add_events: 0,
            entry_idaction_url: None,
            exit: None,
            referrer: replaces_direct_entry(visit, referrer).then(|| stored_referrer(referrer)),
            custom_dimensions: self.dimension_values(site, req).visit,
            last_action: None,
        };
        group.update_visit(visit.idvisit, &update);
        Ok(Outcome::Tracked)
    }

    /// Matomo's lookup (`VisitorRecognizer`, spec 2.3): by visitor id first (no lower time bound),
    /// then by fingerprint within the visit window; a `cid` matches by id only.
    async fn find_visit(
        &self,
        group: &mut Group<'_>,
        idsite: i64,
        req: &TrackingRequest,
        config_id: &[u8; 8],
        claimed_visitor: Option<[u8; 8]>,
        time: i64,
    ) -> Result<Option<Visit>> {
        let length = self.config.visit_standard_length;
        let look_back = length.max(self.config.window_look_back_for_visitor);
        if let Some(visitor) = claimed_visitor {
            if let Some(found) = group
                .visit_by_visitor(idsite, &visitor, time + length)
                .await?
            {
                return Ok(Some(found));
            }
            if req.forced_visitor_id.is_some() && req.user_id.is_none() {
                return Ok(None);
            }
        }
        group
            .visit_by_config(
                idsite,
                config_id,
                (time - look_back, time + length),
                req.user_id.as_deref(),
            )
            .await
    }

    /// The last action is older than the visit length.
    fn expired(&self, visit: &Visit, time: i64) -> bool {
        time - visit.visit_last_action_time > self.config.visit_standard_length
    }

    /// Matomo's reasons to start a new visit for a known visitor (spec 2.3).
    fn starts_new_visit(
        &self,
        site: &SiteInfo,
        req: &TrackingRequest,
        visit: &Visit,
        referrer: &referrer::Referrer,
        time: i64,
    ) -> bool {
        let config = self.config;
        if req.new_visit || self.expired(visit, time) {
            return true;
        }
        if config.create_new_visit_after_midnight
            && site.tz.local_date(visit.visit_last_action_time) != site.tz.local_date(time)
        {
            return true;
        }
        if visit.visit_total_actions >= config.create_new_visit_after_x_actions {
            return true;
        }
        if !config.enable_userid_overwrites_visitorid {
            if let (Some(old), Some(new)) = (visit.user_id.as_deref(), req.user_id.as_deref()) {
                if old != new {
                    return true;
                }
            }
        }
        let is_direct = visit.referer_type == Some(referrer::ReferrerType::Direct as i64);
        let differs = |kind: referrer::ReferrerType| {
            referrer.kind == kind
                && (visit.referer_type != Some(kind as i64)
                    || visit.referer_name != referrer.name
                    || visit.referer_keyword != referrer.keyword)
        };
        (config.create_new_visit_when_campaign_changes
            && !is_direct
            && differs(referrer::ReferrerType::Campaign))
            || (config.create_new_visit_when_website_referrer_changes
                && !is_direct
                && differs(referrer::ReferrerType::Website))
    }

    /// The visitor's fingerprint for this site (Matomo's `config_id`, spec 2.2): the edge's
    /// fingerprint when the request came through the edge, else the same keyed hash computed here
    /// over the full IP; then salted with the site so fingerprints do not match across sites.
    #[allow(clippy::too_many_arguments)]
    fn config_id(
        &self,
        site: &SiteInfo,
        req: &TrackingRequest,
        facts: &Facts,
        ip: Option<IpAddr>,
        user_agent: &str,
        language: &str,
        time: i64,
    ) -> [u8; 8] {
        let device_fingerprint = facts.fingerprint.unwrap_or_else(|| {
            shared::fingerprint::fingerprint(
                self.fingerprint_key,
                &site.tz.local_date(time).to_string(),
                ip.unwrap_or(IpAddr::from([0, 0, 0, 0])),
                user_agent,
                language,
                &req.plugins.digits(),
            )
        });
        let mut hasher = Sha256::new();
        hasher.update(device_fingerprint);
        hasher.update(req.site_id.get().to_be_bytes());
        let digest = hasher.finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        id
    }

    /// Looks up the dictionary ids of the request's action and fills its row.
    async fn record_action(
        &self,
        group: &mut Group<'_>,
        site: &SiteInfo,
        req: &TrackingRequest,
    ) -> Result<Recorded> {
        let max = self.config.page_maximum_length;
        let mut recorded = Recorded::default();
        let page_url = req.url.as_deref().unwrap_or("");
        let url_search = site
            .site_search
            .as_ref()
            .and_then(|(keywords, categories)| {
                url::detect_site_search(page_url, keywords, categories)
            });
        match &req.action {
            Action::Pageview if req.ecommerce.idgoal.is_some_and(|id| id > 0) => {}
            Action::NoAction => {}
            Action::Pageview => {
                if let Some((keyword, category)) = url_search {
                    recorded.row.search_cat = category;
                    recorded.url = None;
                    recorded.name = Some(
                        self.action_id(group, ActionType::SiteSearch, &keyword, None)
                            .await?,
                    );
                    recorded.is_search = true;
                } else {
                    recorded.url = Some(self.page_url_action(group, site, page_url).await?);
                    let title = req.action_name.as_deref().map(str::trim).unwrap_or("");
                    if !title.is_empty() {
                        recorded.name = Some(
                            self.action_id(
                                group,
                                ActionType::PageTitle,
                                url::cut(title, max),
                                None,
                            )
                            .await?,
                        );
                    }
                    recorded.is_pageview = true;
                }
                recorded.counts_as_action = true;
            }
            Action::SiteSearch {
                keyword,
                category,
                count,
            } => {
                recorded.name = Some(
                    self.action_id(group, ActionType::SiteSearch, url::cut(keyword, max), None)
                        .await?,
                );
                recorded.row.search_cat.clone_from(category);
                recorded.row.search_count = count.and_then(|c| i64::try_from(c).ok());
                recorded.is_search = true;
                recorded.counts_as_action = true;
            }
            Action::Outlink { url: link } | Action::Download { url: link } => {
                let kind = if matches!(req.action, Action::Outlink { .. }) {
                    ActionType::Outlink
                } else {
                    ActionType::Download
                };
                recorded.url = Some(
                    self.action_id(group, kind, url::cut(link, max), None)
                        .await?,
                );
                recorded.counts_as_action = true;
            }
            Action::Event {
                category,
                action,
                name,
                value,
            } => {
                recorded.url = Some(self.page_url_action(group, site, page_url).await?);
                recorded.row.idaction_event_category = Some(
                    self.action_id(group, ActionType::EventCategory, category, None)
                        .await?,
                );
                recorded.row.idaction_event_action = Some(
                    self.action_id(group, ActionType::EventAction, action, None)
                        .await?,
                );
                if let Some(name) = name {
                    recorded.name = Some(
                        self.action_id(group, ActionType::EventName, name, None)
                            .await?,
                    );
                }
                recorded.row.custom_float = *value;
                recorded.is_event = true;
                recorded.counts_as_action = true;
            }
            Action::Content {
                name,
                piece,
                target,
                interaction,
            } => {
                recorded.url = Some(self.page_url_action(group, site, page_url).await?);
                recorded.row.idaction_content_name = Some(
                    self.action_id(group, ActionType::ContentName, name, None)
                        .await?,
                );
                if let Some(piece) = piece {
                    recorded.row.idaction_content_piece = Some(
                        self.action_id(group, ActionType::ContentPiece, piece, None)
                            .await?,
                    );
                }
                if let Some(target) = target {
                    recorded.row.idaction_content_target = Some(
                        self.action_id(group, ActionType::ContentTarget, target, None)
                            .await?,
                    );
                }
                if let Some(interaction) = interaction {
                    recorded.row.idaction_content_interaction = Some(
                        self.action_id(group, ActionType::ContentInteraction, interaction, None)
                            .await?,
                    );
                }
            }
        }
        recorded.row.idaction_url = recorded.url;
        recorded.row.idaction_name = recorded.name;
        recorded.row.idpageview.clone_from(&req.pageview_id);
        if recorded.is_pageview {
            set_timings(&mut recorded.row, &req.performance);
        }
        Ok(recorded)
    }

    /// [`visits::action_id`] through the writer's cache of ids. While the writer gathers a
    /// group's names (`Group::gathering`), a name not cached is only noted and 0 stands in: the
    /// ids of all of them are then looked up at once ([`Self::resolve_gathered`]).
    async fn action_id(
        &self,
        group: &mut Group<'_>,
        kind: ActionType,
        name: &str,
        url_prefix: Option<i64>,
    ) -> Result<i64> {
        let hash = visits::action_hash(name);
        let cached = lock(self.action_ids).get(kind, hash);
        if let Some(idaction) = cached {
            return Ok(idaction);
        }
        if let Some(names) = group.gathering.as_mut() {
            names.push((kind, name.to_owned(), url_prefix));
            return Ok(0);
        }
        let idaction = visits::action_id(&mut group.tx, kind, name, url_prefix).await?;
        lock(self.action_ids).insert(kind, hash, idaction);
        Ok(idaction)
    }

    /// The dictionary id of the page URL, normalised as Matomo stores it (spec 2.5).
    async fn page_url_action(
        &self,
        group: &mut Group<'_>,
        site: &SiteInfo,
        page_url: &str,
    ) -> Result<i64> {
        let normalised = url::normalise_page_url(
            page_url,
            &self.all_excluded_parameters(site),
            site.site_search
                .as_ref()
                .map(|(keywords, _)| keywords.as_slice()),
            site.keep_url_fragment,
        );
        let (prefix, rest) = url::split_prefix(&normalised);
        let rest = url::cut(rest, self.config.page_maximum_length);
        self.action_id(group, ActionType::PageUrl, rest, prefix.map(i64::from))
            .await
    }

    /// Matomo's default excluded parameters plus the configured global ones and the site's.
    fn all_excluded_parameters(&self, site: &SiteInfo) -> Vec<String> {
        self.config
            .excluded_query_parameters
            .iter()
            .chain(&site.exclusions.excluded_params)
            .cloned()
            .collect()
    }

    /// Custom dimension values by scope and column: `dimensionN` fills the column of the site's
    /// active dimension N; unknown ids are ignored, as Matomo does.
    fn dimension_values(&self, site: &SiteInfo, req: &TrackingRequest) -> Dimensions {
        let mut dimensions = Dimensions::default();
        for (id, value) in &req.dimensions {
            let Some(dimension) = site
                .dimensions
                .iter()
                .find(|d| d.idcustomdimension == i64::from(*id))
            else {
                continue;
            };
            let columns = if dimension.scope == "visit" {
                &mut dimensions.visit
            } else {
                &mut dimensions.action
            };
            let slot = usize::try_from(dimension.index - 1)
                .ok()
                .and_then(|slot| columns.get_mut(slot));
            if let Some(column) = slot {
                *column = Some(value.clone());
            }
        }
        dimensions
    }

    /// The row of a visit that starts with this request.
    #[allow(clippy::too_many_arguments)]
    fn new_visit(
        &self,
        req: &TrackingRequest,
        facts: &Facts,
        ip: Option<IpAddr>,
        device: &device::Device,
        language: &str,
        config_id: &[u8; 8],
        idvisitor: &[u8],
        previous: Option<&Visit>,
        referrer: &referrer::Referrer,
        recorded: &Recorded,
        dimensions: &[Option<String>; 5],
        time: i64,
    ) -> Visit {
        let trusted_geo = |request: &Option<String>, edge: &Option<String>| {
            request.clone().or_else(|| edge.clone())
        };
        let returning = previous.is_some();
        let first_visit_time = previous
            .map(|p| p.visit_first_action_time - p.visitor_seconds_since_first.unwrap_or(0));
        let flags = &req.plugins;
        let mut visit = Visit {
            idvisit: 0,
            idsite: i64::from(req.site_id.get()),
            idvisitor: idvisitor.to_vec(),
            config_id: config_id.to_vec(),
            location_ip: ip.map(|ip| ip_bytes(shared::ip::anonymise(ip, self.ip_mask_bytes))),
            user_id: req.user_id.clone(),
            visit_first_action_time: time,
            visit_last_action_time: time,
            visitor_returning: i64::from(returning)
                + i64::from(previous.is_some_and(|p| p.visit_goal_buyer != 0)),
            visitor_count_visits: previous.map_or(1, |p| p.visitor_count_visits + 1),
            visitor_seconds_since_first: first_visit_time.map(|first| time - first),
            visitor_seconds_since_order: None,
            visitor_seconds_since_last: previous.map(|p| time - p.visit_last_action_time),
            visit_entry_idaction_url: recorded.entry().0,
            visit_entry_idaction_name: recorded.entry().1,
            visit_exit_idaction_url: recorded.exit().and_then(|(url, _)| url),
            visit_exit_idaction_name: recorded.exit().and_then(|(_, name)| name),
            visit_total_actions: i64::from(recorded.counts_as_action),
            visit_total_interactions: i64::from(recorded.is_pageview),
            visit_total_searches: i64::from(recorded.is_search),
            visit_total_events: i64::from(recorded.is_event),
            visit_total_time: 0,
            visitor_localtime: Some(local_time(&req.local_time)),
            referer_type: Some(referrer.kind as i64),
            referer_name: referrer.name.clone(),
            referer_keyword: referrer.keyword.clone(),
            referer_url: referrer.url.clone(),
            config_os: Some(device.os.clone()),
            config_os_version: Some(device.os_version.clone()),
            config_browser_name: Some(device.browser.clone()),
            config_browser_version: Some(device.browser_version.clone()),
            config_browser_engine: Some(device.browser_engine.clone()),
            config_client_type: Some(1),
            config_device_type: Some(i64::from(device.device_type)),
            config_device_brand: Some(device.device_brand.clone()),
            config_device_model: Some(device.device_model.clone()),
            config_resolution: req.resolution.clone(),
            config_cookie: i64::from(flags.cookie),
            config_flash: i64::from(flags.flash),
            config_java: i64::from(flags.java),
            config_pdf: i64::from(flags.pdf),
            config_quicktime: i64::from(flags.quicktime),
            config_realplayer: i64::from(flags.realplayer),
            config_silverlight: i64::from(flags.silverlight),
            config_windowsmedia: i64::from(flags.windows_media),
            location_browser_lang: Some(language.chars().take(20).collect()),
            location_country: trusted_geo(&req.overrides.country, &facts.country),
            location_region: trusted_geo(&req.overrides.region, &facts.region),
            location_city: trusted_geo(&req.overrides.city, &facts.city),
            location_latitude: req.overrides.latitude.or(facts.latitude),
            location_longitude: req.overrides.longitude.or(facts.longitude),
            profilable: i64::from(
                req.visitor_id.is_some()
                    || req.forced_visitor_id.is_some()
                    || req.user_id.is_some(),
            ),
            campaign_name: (referrer.kind == referrer::ReferrerType::Campaign)
                .then(|| referrer.name.clone())
                .flatten(),
            campaign_keyword: (referrer.kind == referrer::ReferrerType::Campaign)
                .then(|| referrer.keyword.clone())
                .flatten(),
            ..Visit::default()
        };
        visit.set_custom_dimensions(dimensions.clone());
        visit
    }
}

/// What goals compare for this request's action: the URL they see and the action's kind.
fn goal_subject(
    req: &TrackingRequest,
    is_pageview: bool,
) -> Option<(&str, goal::ActionKindForGoal<'_>)> {
    let page_url = req.url.as_deref().unwrap_or("");
    match &req.action {
        Action::Pageview if is_pageview => Some((page_url, goal::ActionKindForGoal::Pageview)),
        Action::Outlink { url } => Some((url, goal::ActionKindForGoal::Outlink)),
        Action::Download { url } => Some((url, goal::ActionKindForGoal::Download)),
        Action::Event {
            category,
            action,
            name,
            ..
        } => Some((
            page_url,
            goal::ActionKindForGoal::Event {
                category,
                action,
                name: name.as_deref(),
            },
        )),
        _ => None,
    }
}

/// Custom dimension values of one request, by scope.
#[derive(Debug, Default)]
struct Dimensions {
    visit: [Option<String>; 5],
    action: [Option<String>; 5],
}

/// The first IP or location override, which always needs a token (`core/Tracker/Request.php`).
fn overriding_param(req: &TrackingRequest) -> Option<&'static str> {
    let o = &req.overrides;
    [
        ("cip", o.ip.is_some()),
        ("country", o.country.is_some()),
        ("region", o.region.is_some()),
        ("city", o.city.is_some()),
        ("lat", o.latitude.is_some()),
        ("long", o.longitude.is_some()),
    ]
    .into_iter()
    .find_map(|(name, present)| present.then_some(name))
}

/// `visitor_localtime` as `HH:MM:SS`; missing parts are 0, as Matomo stores them.
fn local_time(t: &LocalTime) -> String {
    let part = |v: Option<u8>| v.unwrap_or(0);
    format!(
        "{:02}:{:02}:{:02}",
        part(t.hour),
        part(t.minute),
        part(t.second)
    )
}

/// The `pf_*` timings (ms) in the `time_*` columns; values too large for a column are dropped.
fn set_timings(row: &mut NewAction, p: &PerformanceTimings) {
    let ms = |value: Option<u64>| value.and_then(|ms| i64::try_from(ms).ok());
    row.time_network = ms(p.network);
    row.time_server = ms(p.server);
    row.time_transfer = ms(p.transfer);
    row.time_dom_processing = ms(p.dom_processing);
    row.time_dom_completion = ms(p.dom_completion);
    row.time_on_load = ms(p.on_load);
}

/// Whether a request of an existing visit replaces the visit's referrer: Matomo keeps the first
/// referrer of a visit, except that a visit recorded as direct entry takes the first non-direct
/// referrer a later request of it carries (a campaign in its URL, or a search engine, social
/// network or website in its `urlref`), all four `referer_*` columns at once.
/// `plugins/Referrers/Columns/{ReferrerType,ReferrerName,Keyword,ReferrerUrl}.php::onExistingVisit`
/// (`isCurrentReferrerDirectEntry($visitor) && referer_type != REFERRER_TYPE_DIRECT_ENTRY`);
/// `Campaign.php::shouldForceVisit` then does not split such a visit on a campaign.
fn replaces_direct_entry(visit: &Visit, referrer: &referrer::Referrer) -> bool {
    visit.referer_type == Some(referrer::ReferrerType::Direct as i64)
        && referrer.kind != referrer::ReferrerType::Direct
}

/// The visitor id a request records. A request continuing a visit writes the id it claims
/// (`uid` hash, `cid` or `_id`) over the visit's (`Visit::setIdVisitorForExistingVisit`). A new
/// visit of a recognised visitor keeps the id of the visit found, even when it was found by
/// fingerprint under another id (`VisitorRecognizer::findKnownVisitor` copies the row's
/// `idvisitor`; `Visit::getVisitorIdcookie` returns it for a known visitor); an unknown visitor
/// gets the claimed id, else a random one.
fn visitor_id(
    claimed: Option<[u8; 8]>,
    continuing: Option<&Visit>,
    last: Option<&Visit>,
) -> Vec<u8> {
    match (continuing, last) {
        (Some(visit), _) => claimed.map_or_else(|| visit.idvisitor.clone(), |id| id.to_vec()),
        (None, Some(known)) => known.idvisitor.clone(),
        (None, None) => {
            claimed.map_or_else(|| rand::random::<[u8; 8]>().to_vec(), |id| id.to_vec())
        }
    }
}

/// The visit's campaign, when its referrer is one.
fn visit_campaign(visit: &Visit) -> Option<referrer::VisitCampaign<'_>> {
    if visit.referer_type != Some(referrer::ReferrerType::Campaign as i64) {
        return None;
    }
    Some(referrer::VisitCampaign {
        name: visit.referer_name.as_deref()?,
        keyword: visit.referer_keyword.as_deref(),
    })
}

fn stored_referrer(referrer: &referrer::Referrer) -> StoredReferrer {
    StoredReferrer {
        kind: referrer.kind as i64,
        name: referrer.name.clone(),
        keyword: referrer.keyword.clone(),
        url: referrer.url.clone(),
    }
}

/// Locks a writer-local mutex; a panic elsewhere cannot leave these maps half-updated in a
/// way that matters (each is a cache or a set), so poisoning is ignored.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_action_id_is_found_by_type_and_hash_only() {
        let mut ids = ActionIds::default();
        ids.insert(ActionType::PageUrl, 7, 42);
        assert_eq!(ids.get(ActionType::PageUrl, 7), Some(42));
        assert_eq!(ids.get(ActionType::PageTitle, 7), None);
        assert_eq!(ids.get(ActionType::PageUrl, 8), None);
    }

    #[test]
    fn the_action_id_cache_starts_over_when_full() {
        let mut ids = ActionIds::default();
        for hash in 0..ActionIds::MAX as i64 {
            ids.insert(ActionType::PageUrl, hash, hash);
        }
        assert_eq!(ids.len(), ActionIds::MAX);
        ids.insert(ActionType::PageUrl, -1, 5);
        assert_eq!(ids.len(), 1);
        assert_eq!(ids.get(ActionType::PageUrl, -1), Some(5));
        assert_eq!(ids.get(ActionType::PageUrl, 0), None);
    }

    #[test]
    fn clearing_the_action_id_cache_forgets_every_id() {
        let mut ids = ActionIds::default();
        ids.insert(ActionType::Outlink, 1, 2);
        ids.clear();
        assert_eq!(ids.get(ActionType::Outlink, 1), None);
    }
}
