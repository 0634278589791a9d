-- Patient search lists its matches in case-folded name order: (lower(familyName), lower(givenName),
-- id), compared byte by byte (COLLATE "C"), so that one btree both finds a prefix (a range of the
-- key) and returns it already in order. A page then reads its 21 rows instead of every match: the
-- trigram indexes found a common prefix's 40,000 rows at a million patients and sorted them all
-- (20 ms, up to 480 ms). The search reads one ordered range per term of the family-first index,
-- and each given name beginning a term from the given-first one, in family order
-- (subgraphs/patients/src/search.ts). lower() folds with the database's own
-- collation, as ILIKE did. No semicolon may appear in this file except at the end of a statement:
-- the driver adapter splits migration scripts at every one.
CREATE INDEX "Patient_name_key_idx" ON "Patient" ((lower("familyName") COLLATE "C"), (lower("givenName") COLLATE "C"), "id");

CREATE INDEX "Patient_given_key_idx" ON "Patient" ((lower("givenName") COLLATE "C"), (lower("familyName") COLLATE "C"), "id");

-- Nothing matches patients' names with ILIKE any more. Providers keep theirs: their search still does.
DROP INDEX "Patient_givenName_trgm_idx";

DROP INDEX "Patient_familyName_trgm_idx";

-- An expression index has statistics of its own only once analysed: without them the planner
-- guesses how many rows a range of the key holds.
ANALYZE "Patient";
