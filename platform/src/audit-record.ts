import { randomUUID } from 'node:crypto';

/** What happened: PHI was disclosed to the caller, access was refused, or the caller wrote a record. */
export const AUDIT_OUTCOMES = ['DISCLOSED', 'DENIED', 'WRITTEN'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** One disclosure of PHI, one refusal or one write (45 CFR 164.312(b) audit controls, 164.528 accounting). */
export interface AuditRecord {
  id: string;
  at: Date;
  actorSub: string;
  actorRole: string;
  purpose: string;
  patientId: string | null;
  resourceType: string;
  resourceIds: string[];
  fieldPaths: string[];
  breakGlassReason: string | null;
  /** The gateway's id for the request: never chosen by the client. */
  requestId: string;
  /** The client's own x-request-id, kept apart from the request id, when it sent a plain one. */
  correlationId: string | null;
  outcome: AuditOutcome;
  /** True when a value had to be escaped or shortened to be stored (see sanitizeAuditRecord). */
  sanitized: boolean;
}

/** What a caller of the audit writer gives: the writer adds the id and, unless given, the time. */
export type AuditInput = Omit<AuditRecord, 'id' | 'at' | 'sanitized' | 'correlationId'> & { at?: Date; correlationId?: string | null };

/** Longest stored values; anything longer is cut and marked. */
const LIMITS = { text: 512, id: 200, list: 1_000 } as const;

/** Characters PostgreSQL cannot store in text or jsonb: NUL, and surrogates that do not pair up. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what is looked for.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Makes one caller-supplied string safe for PostgreSQL text and jsonb, visibly: a NUL byte or a
 * lone surrogate becomes its escape written out (`\u0000`), and an over-long value is cut with a
 * marker. Returns whether anything changed, so the event can say it was altered.
 */
export function storableText(value: string, max: number = LIMITS.text): { text: string; changed: boolean } {
  let text = value.replace(UNSTORABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (text.length > max) text = `${text.slice(0, max)}…[cut from ${value.length} characters]`;
  return { text, changed: text !== value };
}

/**
 * The event as it will be stored: every string valid for PostgreSQL text and jsonb, every list
 * bounded, and `sanitized` set when anything had to change. No caller input can make a batch fail.
 */
export function sanitizeAuditRecord(record: AuditRecord): AuditRecord {
  let changed = false;
  const text = (value: string, max?: number) => {
    const safe = storableText(value, max);
    changed ||= safe.changed;
    return safe.text;
  };
  const maybe = (value: string | null, max?: number) => (value === null ? null : text(value, max));
  const list = (values: string[], max: number) => {
    const kept = values.slice(0, LIMITS.list).map((value) => text(String(value), max));
    if (values.length > LIMITS.list) {
      changed = true;
      kept.push(`…[${values.length - LIMITS.list} more]`);
    }
    return kept;
  };
  const at = record.at instanceof Date && !Number.isNaN(record.at.getTime()) ? record.at : new Date();
  const safe: AuditRecord = {
    id: text(record.id, 64),
    at,
    actorSub: text(record.actorSub, LIMITS.id),
    actorRole: text(record.actorRole, 32),
    purpose: text(record.purpose, 32),
    patientId: maybe(record.patientId, LIMITS.id),
    resourceType: text(record.resourceType, 64),
    resourceIds: list(record.resourceIds, LIMITS.id),
    fieldPaths: list(record.fieldPaths, LIMITS.id),
    breakGlassReason: maybe(record.breakGlassReason),
    requestId: text(record.requestId, 64),
    correlationId: maybe(record.correlationId, 64),
    outcome: record.outcome,
    sanitized: record.sanitized,
  };
  safe.sanitized = record.sanitized || changed || at !== record.at;
  return safe;
}

/** A complete, storable record from what a caller gives. */
export function auditRecord(input: AuditInput): AuditRecord {
  return sanitizeAuditRecord({ correlationId: null, ...input, id: randomUUID(), at: input.at ?? new Date(), sanitized: false });
}
