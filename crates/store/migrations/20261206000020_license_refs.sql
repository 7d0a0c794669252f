-- Opaque references for licenses in the holder's URLs (issue 19, finding 14).
-- A license id (GB/T 36904) carries the license number, which for a 居民身份证
-- is the ID number itself; wallet URLs end up in browser history, logs and
-- Referer headers, so they name a license by a random reference instead.
-- Licenses issued before get theirs once at startup (`backfill_license_refs`).
ALTER TABLE licenses ADD COLUMN public_ref TEXT;
CREATE UNIQUE INDEX licenses_public_ref ON licenses (public_ref);
