-- 政务服务大厅: the comprehensive windows (综合窗口) of a hall accept the items of
-- every agency in it (一窗受理). The hall is run by one agency; its window clerks
-- serve every agency of the hall.
CREATE TABLE halls (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    division_code TEXT NOT NULL,
    agency_uscc TEXT NOT NULL REFERENCES agencies (uscc),
    address TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX halls_agency ON halls (agency_uscc);

CREATE TABLE hall_agencies (
    hall_id TEXT NOT NULL REFERENCES halls (id),
    agency_uscc TEXT NOT NULL REFERENCES agencies (uscc),
    PRIMARY KEY (hall_id, agency_uscc)
);

-- 申报来源 (GB/T 39046): `online`, or `window` with the hall and the clerk who
-- took the application.
ALTER TABLE cases ADD COLUMN channel TEXT NOT NULL DEFAULT 'online';
ALTER TABLE cases ADD COLUMN hall_id TEXT;

-- A department's list, newest change first, without sorting (the workbench and
-- the 1-million-case list benchmark).
CREATE INDEX cases_agency_recent ON cases (agency_uscc, updated_at, case_no);

-- 认领: who holds the case now (also in the folded state), for the workbench's
-- "mine" and "unclaimed" lists.
ALTER TABLE cases ADD COLUMN claimed_by TEXT;

-- 会签: the agencies asked to countersign a case's step, for their workbench.
CREATE TABLE case_countersigns (
    case_no TEXT NOT NULL REFERENCES cases (case_no),
    step TEXT NOT NULL,
    agency_uscc TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    signed_at TEXT,
    PRIMARY KEY (case_no, step, agency_uscc)
);
CREATE INDEX case_countersigns_open ON case_countersigns (agency_uscc, signed_at, requested_at);
