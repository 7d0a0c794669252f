-- 电子监察 (issue 22): the alerts the rules gave, kept once per case and key,
-- and a flag the case write sets in the event's own statement: the case has
-- events supervision has not evaluated yet (the consumer clears it).
CREATE TABLE supervision_alerts (
    case_no TEXT NOT NULL REFERENCES cases (case_no),
    alert_key TEXT NOT NULL,
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
CREATE INDEX supervision_alerts_agency ON supervision_alerts (agency_uscc, due_at);
CREATE INDEX supervision_alerts_due ON supervision_alerts (due_at);

ALTER TABLE cases ADD COLUMN supervise_pending BIGINT NOT NULL DEFAULT 0;
CREATE INDEX cases_supervise_pending ON cases (case_no) WHERE supervise_pending = 1;
