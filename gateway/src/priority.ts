import { ConfigError, isPurpose, isRole, type Principal, type Purpose, type Role } from '@healthgraph/platform';

/**
 * Priority classes, highest first. Under overload the gateway serves waiting requests in this
 * order and refuses the last ones first; emergency is the last class ever refused.
 */
export const PRIORITY_CLASSES = ['emergency', 'clinical', 'portal', 'back-office'] as const;
export type PriorityClass = (typeof PRIORITY_CLASSES)[number];

export const isPriorityClass = (value: unknown): value is PriorityClass =>
  typeof value === 'string' && (PRIORITY_CLASSES as readonly string[]).includes(value);

/** One row of the table: callers with this role and purpose (either may be `*`) are in this class. */
export interface PriorityRule {
  class: PriorityClass;
  role: Role | '*';
  purpose: Purpose | '*';
}

/**
 * Who is in which class, declared once. The first matching row wins; a caller no row matches is
 * back office. Only the verified principal decides: the class must be known before the operation
 * is parsed (admission comes before any expensive work), so nothing the client writes in its
 * query can raise its priority.
 */
export const DEFAULT_PRIORITY_RULES: readonly PriorityRule[] = [
  // Break-glass and emergency treatment: a patient who cannot wait (45 CFR 164.312(a)(2)(ii)).
  { class: 'emergency', role: '*', purpose: 'BTG' },
  { class: 'emergency', role: '*', purpose: 'ETREAT' },
  { class: 'clinical', role: 'CLINICIAN', purpose: 'TREAT' },
  { class: 'portal', role: 'PATIENT', purpose: '*' },
  { class: 'portal', role: 'SCHEDULER', purpose: '*' },
];

/** The class of a caller under `rules`. */
export function classify(rules: readonly PriorityRule[], principal: Pick<Principal, 'role' | 'purpose'>): PriorityClass {
  for (const rule of rules) {
    if ((rule.role === '*' || rule.role === principal.role) && (rule.purpose === '*' || rule.purpose === principal.purpose)) {
      return rule.class;
    }
  }
  return 'back-office';
}

/**
 * Reads a table written as `class=ROLE:PURPOSE,ROLE:PURPOSE;class=...` (PRIORITY_RULES), e.g.
 * `emergency=*:BTG,*:ETREAT;clinical=CLINICIAN:TREAT,CLINICIAN:HOPERAT;portal=PATIENT:*,SCHEDULER:*`.
 * Rows keep their written order, which is the order they are matched in.
 */
export function parsePriorityRules(text: string): PriorityRule[] {
  const rules: PriorityRule[] = [];
  for (const group of text
    .split(';')
    .map((g) => g.trim())
    .filter(Boolean)) {
    const [name, members = '', ...extra] = group.split('=').map((part) => part.trim());
    if (!isPriorityClass(name) || extra.length > 0)
      throw new ConfigError(`PRIORITY_RULES: "${group}" must be class=ROLE:PURPOSE,... with a class among ${PRIORITY_CLASSES.join(', ')}`);
    for (const member of members
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean)) {
      const [role = '', purpose = '*'] = member.split(':').map((part) => part.trim());
      if (role !== '*' && !isRole(role)) throw new ConfigError(`PRIORITY_RULES names an unknown role "${role}"`);
      if (purpose !== '*' && !isPurpose(purpose)) throw new ConfigError(`PRIORITY_RULES names an unknown purpose "${purpose}"`);
      rules.push({ class: name, role, purpose } as PriorityRule);
    }
  }
  return rules;
}

/** What each class gets; every figure can be set per class (see README, Configuration). */
export interface ClassSettings {
  /** Most requests of the class waiting for a slot at once; more are refused at once. */
  queue: number;
  /** Longest a request of the class waits for a slot before it is refused. */
  maxWaitMs: number;
  /** What `Retry-After` tells a refused caller of the class, in seconds. */
  retryAfterSeconds: number;
  /** Requests one caller (`sub`) of the class may make per rate-limit window; 0 is no limit. */
  ratePerSub: number;
}

/**
 * Defaults a hospital can start with. Emergency waits longest and is refused last (its queue is
 * deep and it has slots of its own, see ADMISSION_EMERGENCY_RESERVE); back office waits least and
 * is told to come back later, so its callers' retries do not crowd out the rest. A person at a
 * portal sends well under one request a second; the per-caller limits leave room for scripts and
 * busy workstations and stop a runaway client.
 */
export const CLASS_DEFAULTS: Readonly<Record<PriorityClass, ClassSettings>> = {
  emergency: { queue: 1_000, maxWaitMs: 10_000, retryAfterSeconds: 1, ratePerSub: 1_200 },
  clinical: { queue: 256, maxWaitMs: 2_000, retryAfterSeconds: 1, ratePerSub: 1_200 },
  portal: { queue: 128, maxWaitMs: 1_000, retryAfterSeconds: 2, ratePerSub: 300 },
  'back-office': { queue: 64, maxWaitMs: 500, retryAfterSeconds: 5, ratePerSub: 1_200 },
};
