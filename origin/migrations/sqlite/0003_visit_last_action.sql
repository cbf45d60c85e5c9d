-- The latest action of each visit, kept on the visit row, sqlite flavour (mirrors ../postgres/0003_visit_last_action.sql).
-- The tracker sets the time spent on a visit's latest action (by server_time, then idlink_va) when
-- the next action arrives; keeping its id and time here saves a query per request. NULL means
-- "not stored": the tracker then looks it up in log_link_visit_action (a visit's first request
-- leaves it NULL).
ALTER TABLE log_visit ADD COLUMN last_idlink_va INTEGER;
ALTER TABLE log_visit ADD COLUMN last_idlink_va_time INTEGER;

UPDATE log_visit SET
    last_idlink_va = (SELECT a.idlink_va FROM log_link_visit_action a WHERE a.idvisit = log_visit.idvisit
        ORDER BY a.server_time DESC, a.idlink_va DESC LIMIT 1),
    last_idlink_va_time = (SELECT a.server_time FROM log_link_visit_action a WHERE a.idvisit = log_visit.idvisit
        ORDER BY a.server_time DESC, a.idlink_va DESC LIMIT 1);
