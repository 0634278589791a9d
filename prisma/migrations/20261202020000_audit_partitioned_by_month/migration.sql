-- AuditEvent partitioned by month (declarative range partitioning on "at", in UTC as stored).
-- The primary key must hold the partition key, so it is ("id", "at"). An event's "at" is fixed
-- when it is made and travels with it (journal, replay), so a replayed event meets its own
-- primary key in its own partition and ON CONFLICT DO NOTHING still stores it exactly once.
-- Retention drops whole partitions older than the horizon (45 CFR 164.316(b)(2): six years by
-- default), never single rows: the append-only trigger still refuses every UPDATE and DELETE.
-- The driver adapter splits migration scripts at every semicolon, so the function bodies below
-- are escape strings whose statement terminators are written as the octal escape 073.

ALTER TABLE "AuditEvent" RENAME TO "AuditEvent_unpartitioned";
ALTER TABLE "AuditEvent_unpartitioned" RENAME CONSTRAINT "AuditEvent_pkey" TO "AuditEvent_unpartitioned_pkey";
ALTER INDEX "AuditEvent_patientId_at_idx" RENAME TO "AuditEvent_unpartitioned_patientId_at_idx";
ALTER INDEX "AuditEvent_actorSub_at_idx" RENAME TO "AuditEvent_unpartitioned_actorSub_at_idx";
ALTER INDEX "AuditEvent_at_idx" RENAME TO "AuditEvent_unpartitioned_at_idx";
ALTER INDEX "AuditEvent_requestId_idx" RENAME TO "AuditEvent_unpartitioned_requestId_idx";

CREATE TABLE "AuditEvent" (
    "id" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actorSub" TEXT NOT NULL,
    "actorRole" TEXT NOT NULL,
    "purpose" TEXT NOT NULL,
    "patientId" TEXT,
    "resourceType" TEXT NOT NULL,
    "resourceIds" TEXT[],
    "fieldPaths" TEXT[],
    "breakGlassReason" TEXT,
    "requestId" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "correlationId" TEXT,
    "sanitized" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id", "at")
) PARTITION BY RANGE ("at");

CREATE INDEX "AuditEvent_patientId_at_idx" ON "AuditEvent"("patientId", "at");
CREATE INDEX "AuditEvent_actorSub_at_idx" ON "AuditEvent"("actorSub", "at");
CREATE INDEX "AuditEvent_at_idx" ON "AuditEvent"("at");
CREATE INDEX "AuditEvent_requestId_idx" ON "AuditEvent"("requestId");

-- Takes any event no monthly partition covers (a clock far off), so a write is never refused for
-- want of a partition. It stays empty while partitions are made ahead of time.
CREATE TABLE "AuditEvent_default" PARTITION OF "AuditEvent" DEFAULT;

-- Creates the monthly partitions AuditEvent_YYYYMM from first_month to last_month that do not
-- exist yet and returns how many it created. A month whose rows already sit in the default
-- partition is skipped with a warning (an operator moves them), since PostgreSQL refuses a
-- partition that the default partition's rows would violate.
CREATE FUNCTION "audit_event_ensure_partitions"(first_month date, last_month date) RETURNS integer LANGUAGE plpgsql
  AS E'DECLARE
    month date := date_trunc(''month'', first_month)::date\073
    created integer := 0\073
    part text\073
  BEGIN
    WHILE month <= last_month LOOP
      part := ''AuditEvent_'' || to_char(month, ''YYYYMM'')\073
      IF to_regclass(quote_ident(part)) IS NULL THEN
        IF EXISTS (SELECT 1 FROM "AuditEvent_default" WHERE "at" >= month AND "at" < month + interval ''1 month'') THEN
          RAISE WARNING ''AuditEvent_default holds rows of %: partition % not created'', to_char(month, ''YYYY-MM''), part\073
        ELSE
          EXECUTE format(''CREATE TABLE %I PARTITION OF "AuditEvent" FOR VALUES FROM (%L) TO (%L)'',
            part, month::timestamp, (month + interval ''1 month'')::timestamp)\073
          created := created + 1\073
        END IF\073
      END IF\073
      month := (month + interval ''1 month'')::date\073
    END LOOP\073
    RETURN created\073
  END';

-- Drops every monthly partition that ends on or before the horizon and returns how many it dropped.
CREATE FUNCTION "audit_event_drop_partitions_before"(horizon timestamp) RETURNS integer LANGUAGE plpgsql
  AS E'DECLARE
    part record\073
    dropped integer := 0\073
  BEGIN
    FOR part IN
      SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = ''"AuditEvent"''::regclass AND c.relname ~ ''^AuditEvent_[0-9]{6}$''
    LOOP
      IF to_date(right(part.relname, 6), ''YYYYMM'') + interval ''1 month'' <= horizon THEN
        EXECUTE format(''DROP TABLE %I'', part.relname)\073
        dropped := dropped + 1\073
      END IF\073
    END LOOP\073
    RETURN dropped\073
  END';

-- Partitions for every month that holds events, up to three months ahead, then the events.
SELECT "audit_event_ensure_partitions"(
  coalesce((SELECT min("at") FROM "AuditEvent_unpartitioned"), now() AT TIME ZONE 'UTC')::date,
  ((now() AT TIME ZONE 'UTC') + interval '3 months')::date);

INSERT INTO "AuditEvent" ("id", "at", "actorSub", "actorRole", "purpose", "patientId", "resourceType", "resourceIds", "fieldPaths",
  "breakGlassReason", "requestId", "outcome", "correlationId", "sanitized")
SELECT "id", "at", "actorSub", "actorRole", "purpose", "patientId", "resourceType", "resourceIds", "fieldPaths",
  "breakGlassReason", "requestId", "outcome", "correlationId", "sanitized"
FROM "AuditEvent_unpartitioned";

DROP TABLE "AuditEvent_unpartitioned";

-- Row triggers on a partitioned table apply to every partition, present and future.
CREATE TRIGGER "AuditEvent_append_only"
  BEFORE UPDATE OR DELETE ON "AuditEvent"
  FOR EACH ROW EXECUTE FUNCTION "audit_event_append_only"();
