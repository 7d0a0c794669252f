-- The applicant's cases were indexed by (type, id, updated_at), so every event on a
-- case rewrote an entry of that index: a page at a random place in it (applicants
-- are spread over it), written once per event. Keyed on when the application was
-- made, which never changes, the index serves "my cases, newest first" and the
-- previous-application prefill without being written again.
DROP INDEX cases_applicant;
CREATE INDEX cases_applicant ON cases (applicant_id_type, applicant_id, created_at);
