-- Edgemeter schema, SQLite flavour. Mirrors ../postgres/0001_init.sql (same tables, columns, indexes).
-- Column names follow Matomo's log tables (spec/MATOMO.md 2.7) so data maps to and from Matomo.

CREATE TABLE site (
    idsite INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    main_url TEXT NOT NULL,
    ts_created TEXT NOT NULL,
    ecommerce INTEGER NOT NULL DEFAULT 0,
    sitesearch INTEGER NOT NULL DEFAULT 1,
    sitesearch_keyword_parameters TEXT NOT NULL DEFAULT '',
    sitesearch_category_parameters TEXT NOT NULL DEFAULT '',
    timezone TEXT NOT NULL DEFAULT 'UTC',
    currency TEXT NOT NULL DEFAULT 'USD',
    exclude_unknown_urls INTEGER NOT NULL DEFAULT 0,
    excluded_ips TEXT NOT NULL DEFAULT '',
    excluded_parameters TEXT NOT NULL DEFAULT '',
    excluded_user_agents TEXT NOT NULL DEFAULT '',
    excluded_referrers TEXT NOT NULL DEFAULT '',
    "group" TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL DEFAULT 'website',
    keep_url_fragment INTEGER NOT NULL DEFAULT 0,
    creator_login TEXT NOT NULL DEFAULT ''
);

CREATE TABLE site_url (
    idsite INTEGER NOT NULL REFERENCES site (idsite) ON DELETE CASCADE,
    url TEXT NOT NULL,
    PRIMARY KEY (idsite, url)
);

CREATE TABLE goal (
    idsite INTEGER NOT NULL REFERENCES site (idsite) ON DELETE CASCADE,
    idgoal INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    match_attribute TEXT NOT NULL,
    pattern TEXT NOT NULL,
    pattern_type TEXT NOT NULL,
    case_sensitive INTEGER NOT NULL DEFAULT 0,
    allow_multiple INTEGER NOT NULL DEFAULT 0,
    revenue REAL NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    event_value_as_revenue INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (idsite, idgoal)
);

-- Matomo's CustomDimensions configuration: `dimensionN` on a request is the value of the dimension
-- whose idcustomdimension is N; `index` picks the custom_dimension_<index> column of its scope.
CREATE TABLE custom_dimension (
    idcustomdimension INTEGER NOT NULL,
    idsite INTEGER NOT NULL REFERENCES site (idsite) ON DELETE CASCADE,
    name TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    scope TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    case_sensitive INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (idcustomdimension, idsite)
);

CREATE TABLE "user" (
    login TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    superuser_access INTEGER NOT NULL DEFAULT 0,
    date_registered TEXT NOT NULL
);

CREATE TABLE access (
    login TEXT NOT NULL REFERENCES "user" (login) ON DELETE CASCADE,
    idsite INTEGER NOT NULL REFERENCES site (idsite) ON DELETE CASCADE,
    access TEXT NOT NULL,
    PRIMARY KEY (login, idsite)
);

-- API tokens are stored as SHA-256 hashes: a leaked database does not leak usable tokens.
CREATE TABLE user_token_auth (
    idusertokenauth INTEGER PRIMARY KEY AUTOINCREMENT,
    login TEXT NOT NULL REFERENCES "user" (login) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE,
    date_created TEXT NOT NULL,
    last_used TEXT,
    secure_only INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE log_action (
    idaction INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    hash INTEGER NOT NULL,
    type INTEGER NOT NULL,
    url_prefix INTEGER
);
CREATE UNIQUE INDEX log_action_type_hash ON log_action (type, hash);

CREATE TABLE log_visit (
    idvisit INTEGER PRIMARY KEY AUTOINCREMENT,
    idsite INTEGER NOT NULL,
    idvisitor BLOB NOT NULL,
    visit_last_action_time INTEGER NOT NULL,
    config_id BLOB NOT NULL,
    location_ip BLOB,
    user_id TEXT,
    visit_first_action_time INTEGER NOT NULL,
    visit_goal_buyer INTEGER NOT NULL DEFAULT 0,
    visit_goal_converted INTEGER NOT NULL DEFAULT 0,
    visitor_returning INTEGER NOT NULL DEFAULT 0,
    visitor_count_visits INTEGER NOT NULL DEFAULT 1,
    visitor_seconds_since_first INTEGER,
    visitor_seconds_since_order INTEGER,
    visitor_seconds_since_last INTEGER,
    visit_entry_idaction_name INTEGER,
    visit_entry_idaction_url INTEGER,
    visit_exit_idaction_name INTEGER,
    visit_exit_idaction_url INTEGER,
    visit_total_actions INTEGER NOT NULL DEFAULT 0,
    visit_total_interactions INTEGER NOT NULL DEFAULT 0,
    visit_total_searches INTEGER NOT NULL DEFAULT 0,
    visit_total_events INTEGER NOT NULL DEFAULT 0,
    visit_total_time INTEGER NOT NULL DEFAULT 0,
    visitor_localtime TEXT,
    referer_type INTEGER,
    referer_name TEXT,
    referer_keyword TEXT,
    referer_url TEXT,
    config_os TEXT,
    config_os_version TEXT,
    config_browser_name TEXT,
    config_browser_version TEXT,
    config_browser_engine TEXT,
    config_client_type INTEGER,
    config_device_type INTEGER,
    config_device_brand TEXT,
    config_device_model TEXT,
    config_resolution TEXT,
    config_cookie INTEGER NOT NULL DEFAULT 0,
    config_flash INTEGER NOT NULL DEFAULT 0,
    config_java INTEGER NOT NULL DEFAULT 0,
    config_pdf INTEGER NOT NULL DEFAULT 0,
    config_quicktime INTEGER NOT NULL DEFAULT 0,
    config_realplayer INTEGER NOT NULL DEFAULT 0,
    config_silverlight INTEGER NOT NULL DEFAULT 0,
    config_windowsmedia INTEGER NOT NULL DEFAULT 0,
    location_browser_lang TEXT,
    location_country TEXT,
    location_region TEXT,
    location_city TEXT,
    location_latitude REAL,
    location_longitude REAL,
    profilable INTEGER NOT NULL DEFAULT 1,
    campaign_name TEXT,
    campaign_keyword TEXT,
    custom_dimension_1 TEXT,
    custom_dimension_2 TEXT,
    custom_dimension_3 TEXT,
    custom_dimension_4 TEXT,
    custom_dimension_5 TEXT
);
CREATE INDEX log_visit_site_config_time ON log_visit (idsite, config_id, visit_last_action_time);
CREATE INDEX log_visit_site_time ON log_visit (idsite, visit_last_action_time);
CREATE INDEX log_visit_site_visitor_time ON log_visit (idsite, idvisitor, visit_last_action_time DESC);

CREATE TABLE log_link_visit_action (
    idlink_va INTEGER PRIMARY KEY AUTOINCREMENT,
    idsite INTEGER NOT NULL,
    idvisitor BLOB NOT NULL,
    idvisit INTEGER NOT NULL,
    idaction_url_ref INTEGER,
    idaction_name_ref INTEGER,
    custom_float REAL,
    pageview_position INTEGER,
    server_time INTEGER NOT NULL,
    idpageview TEXT,
    idaction_name INTEGER,
    idaction_url INTEGER,
    search_cat TEXT,
    search_count INTEGER,
    time_spent_ref_action INTEGER,
    time_spent INTEGER,
    idaction_event_category INTEGER,
    idaction_event_action INTEGER,
    idaction_content_interaction INTEGER,
    idaction_content_name INTEGER,
    idaction_content_piece INTEGER,
    idaction_content_target INTEGER,
    time_network INTEGER,
    time_server INTEGER,
    time_transfer INTEGER,
    time_dom_processing INTEGER,
    time_dom_completion INTEGER,
    time_on_load INTEGER,
    custom_dimension_1 TEXT,
    custom_dimension_2 TEXT,
    custom_dimension_3 TEXT,
    custom_dimension_4 TEXT,
    custom_dimension_5 TEXT
);
CREATE INDEX log_link_visit_action_site_time ON log_link_visit_action (idsite, server_time);
CREATE INDEX log_link_visit_action_visit ON log_link_visit_action (idvisit);

CREATE TABLE log_conversion (
    idvisit INTEGER NOT NULL,
    idsite INTEGER NOT NULL,
    idvisitor BLOB NOT NULL,
    server_time INTEGER NOT NULL,
    idaction_url INTEGER,
    idlink_va INTEGER,
    idgoal INTEGER NOT NULL,
    buster INTEGER NOT NULL,
    idorder TEXT,
    items INTEGER,
    url TEXT NOT NULL,
    revenue REAL,
    revenue_shipping REAL,
    revenue_subtotal REAL,
    revenue_tax REAL,
    revenue_discount REAL,
    visitor_returning INTEGER NOT NULL DEFAULT 0,
    visitor_count_visits INTEGER NOT NULL DEFAULT 1,
    visitor_seconds_since_first INTEGER,
    visitor_seconds_since_order INTEGER,
    referer_type INTEGER,
    referer_name TEXT,
    referer_keyword TEXT,
    config_os TEXT,
    config_browser_name TEXT,
    config_device_type INTEGER,
    location_country TEXT,
    pageviews_before INTEGER,
    PRIMARY KEY (idvisit, idgoal, buster)
);
CREATE UNIQUE INDEX log_conversion_site_order ON log_conversion (idsite, idorder);
CREATE INDEX log_conversion_site_time ON log_conversion (idsite, server_time);

-- Request ids of edge batches already stored: a retried batch is counted once.
CREATE TABLE ingested_request (
    request_id BLOB PRIMARY KEY,
    received_at INTEGER NOT NULL
);

-- Days that received data after they were archived: the archiver re-archives them (spec 5.4).
CREATE TABLE archive_invalidation (
    idsite INTEGER NOT NULL,
    date TEXT NOT NULL,
    ts_invalidated INTEGER NOT NULL,
    PRIMARY KEY (idsite, date)
);
