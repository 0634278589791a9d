-- Name search is a case-insensitive prefix match on the given or the family name (ILIKE 'term%'),
-- which no btree can serve. Trigram GIN indexes do, for patients and providers alike: a rare prefix
-- scanned every patient row before (681 ms at a million patients).
-- pg_trgm ships with PostgreSQL (contrib, a trusted extension since 13) and with PGlite, which
-- must be opened with it (prisma/src/database.ts). No semicolon may appear in this file except
-- at the end of a statement: the driver adapter splits migration scripts at every one.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The btree on the patient's (familyName, givenName) goes: for a common prefix the planner walked
-- it in name order until a page of rows matched, which read most of the table when the matches sort
-- late (4 s for "Wal" at a million patients). Providers keep theirs for the specialty search.
DROP INDEX "Patient_familyName_givenName_idx";

CREATE INDEX "Patient_givenName_trgm_idx" ON "Patient" USING GIN ("givenName" gin_trgm_ops);

CREATE INDEX "Patient_familyName_trgm_idx" ON "Patient" USING GIN ("familyName" gin_trgm_ops);

CREATE INDEX "Provider_givenName_trgm_idx" ON "Provider" USING GIN ("givenName" gin_trgm_ops);

CREATE INDEX "Provider_familyName_trgm_idx" ON "Provider" USING GIN ("familyName" gin_trgm_ops);
