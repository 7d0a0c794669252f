-- The applicant's cases were indexed by (type, id, updated_at), so every event on a
-- case rewrote an entry of that index: a page at a random place in it, as applicants
-- are, written once per event. An applicant holds few cases, so "my cases, newest
-- first" sorts them instead, and the index keys on what never changes.
DROP INDEX cases_applicant;
CREATE INDEX cases_applicant ON cases (applicant_id_type, applicant_id, created_at);
