-- 电子监察 over more than cases (issue 22): the sharing platform's overdue
-- requests raise alerts too. An alert names its subject: a case (`case_no`
-- is its number) or a sharing request (`case_no` holds the request's id), so
-- the table is rebuilt without the reference to cases.
CREATE TABLE supervision_alerts_v2 (
    case_no TEXT NOT NULL,
    alert_key TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT 'case' CHECK (subject IN ('case', 'sharing_request')),
    rule TEXT NOT NULL,
    class TEXT NOT NULL,
    level TEXT NOT NULL,
    agency_uscc TEXT NOT NULL,
    due_at TEXT NOT NULL,
    message TEXT NOT NULL,
    rule_version BIGINT NOT NULL,
    raised_at TEXT NOT NULL,
    PRIMARY KEY (case_no, alert_key)
);
INSERT INTO supervision_alerts_v2 (case_no, alert_key, subject, rule, class, level, agency_uscc, due_at, message, rule_version, raised_at)
    SELECT case_no, alert_key, 'case', rule, class, level, agency_uscc, due_at, message, rule_version, raised_at FROM supervision_alerts;
DROP TABLE supervision_alerts;
ALTER TABLE supervision_alerts_v2 RENAME TO supervision_alerts;
CREATE INDEX supervision_alerts_agency ON supervision_alerts (agency_uscc, due_at);
CREATE INDEX supervision_alerts_due ON supervision_alerts (due_at);
