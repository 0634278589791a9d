-- The audit trail is append-only (45 CFR 164.312(b)): no row may be changed or removed once written.
-- The PostgreSQL driver adapter runs migration scripts split at every semicolon character, so none
-- may appear inside a statement, comments included. The function body is therefore an escape
-- string whose statement terminator is written as the octal escape 073. It reads:
--   BEGIN RAISE EXCEPTION 'AuditEvent is append-only' (semicolon) END
CREATE FUNCTION "audit_event_append_only"() RETURNS trigger LANGUAGE plpgsql
  AS E'BEGIN RAISE EXCEPTION ''AuditEvent is append-only''\073 END';

CREATE TRIGGER "AuditEvent_append_only"
  BEFORE UPDATE OR DELETE ON "AuditEvent"
  FOR EACH ROW EXECUTE FUNCTION "audit_event_append_only"();
