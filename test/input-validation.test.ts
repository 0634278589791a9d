import { SEEDED } from '@healthgraph/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from './helpers/database.js';
import { type Caller, startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 10 } });
});
afterAll(() => stack?.close());

const clinician: Caller = { role: 'CLINICIAN', sub: SEEDED.clinician };
const scheduler: Caller = { role: 'SCHEDULER', sub: 'staff-scheduler-1' };
const auditor: Caller = { role: 'AUDITOR', sub: 'staff-auditor-1' };
const patient: Caller = { role: 'PATIENT', sub: SEEDED.patient };

/** One place in the API where a caller's string goes: `body` puts the value (literal or `$v`) there. */
interface Site {
  name: string;
  /** The argument path the refusal must name. */
  path: string;
  caller: Caller;
  kind: 'query' | 'mutation';
  body: (slot: string) => string;
  /** The variable's type when the value is sent by variable. */
  type: string;
  /** Custom scalars check literals during validation, with GraphQL's own message. */
  scalar?: boolean;
}

const page = '{ edges { node { id } } }';
const booking = {
  patientId: SEEDED.patient,
  providerId: SEEDED.clinician,
  start: '2027-03-01T09:00:00Z',
  reason: 'Follow-up',
  idempotencyKey: 'edge-k1',
};
const bookingWith = (field: keyof typeof booking, slot: string) =>
  `{ ${Object.entries(booking)
    .map(([name, value]) => `${name}: ${name === field ? slot : JSON.stringify(value)}`)
    .join(', ')} }`;

const sites: Site[] = [
  { name: 'patient(id)', path: 'id', caller: clinician, kind: 'query', type: 'ID!', body: (v) => `patient(id: ${v}) { id }` },
  { name: 'provider(id)', path: 'id', caller: clinician, kind: 'query', type: 'ID!', body: (v) => `provider(id: ${v}) { id }` },
  { name: 'appointment(id)', path: 'id', caller: scheduler, kind: 'query', type: 'ID!', body: (v) => `appointment(id: ${v}) { id }` },
  {
    name: 'searchPatients(name)',
    path: 'name',
    caller: scheduler,
    kind: 'query',
    type: 'String',
    body: (v) => `searchPatients(name: ${v}) ${page}`,
  },
  {
    name: 'searchPatients(mrn)',
    path: 'mrn',
    caller: scheduler,
    kind: 'query',
    type: 'String',
    body: (v) => `searchPatients(mrn: ${v}) ${page}`,
  },
  {
    name: 'searchPatients(after)',
    path: 'after',
    caller: scheduler,
    kind: 'query',
    type: 'String',
    body: (v) => `searchPatients(name: "a", after: ${v}) ${page}`,
  },
  {
    name: 'searchPatients(birthDate)',
    path: 'birthDate',
    caller: scheduler,
    kind: 'query',
    type: 'Date',
    scalar: true,
    body: (v) => `searchPatients(birthDate: ${v}) ${page}`,
  },
  {
    name: 'searchProviders(name)',
    path: 'name',
    caller: clinician,
    kind: 'query',
    type: 'String',
    body: (v) => `searchProviders(name: ${v}) ${page}`,
  },
  {
    name: 'searchProviders(specialty)',
    path: 'specialty',
    caller: clinician,
    kind: 'query',
    type: 'String',
    body: (v) => `searchProviders(specialty: ${v}) ${page}`,
  },
  {
    name: 'searchProviders(after)',
    path: 'after',
    caller: clinician,
    kind: 'query',
    type: 'String',
    body: (v) => `searchProviders(name: "a", after: ${v}) ${page}`,
  },
  {
    name: 'myPatients(after)',
    path: 'after',
    caller: clinician,
    kind: 'query',
    type: 'String',
    body: (v) => `myPatients(after: ${v}) ${page}`,
  },
  {
    name: 'auditEvents(patientId)',
    path: 'patientId',
    caller: auditor,
    kind: 'query',
    type: 'ID',
    body: (v) => `auditEvents(patientId: ${v}) ${page}`,
  },
  {
    name: 'auditEvents(after)',
    path: 'after',
    caller: auditor,
    kind: 'query',
    type: 'String',
    body: (v) => `auditEvents(after: ${v}) ${page}`,
  },
  {
    name: 'auditEvents(from)',
    path: 'from',
    caller: auditor,
    kind: 'query',
    type: 'DateTime',
    scalar: true,
    body: (v) => `auditEvents(from: ${v}) ${page}`,
  },
  {
    name: 'myAccessLog(after)',
    path: 'after',
    caller: patient,
    kind: 'query',
    type: 'String',
    body: (v) => `myAccessLog(after: ${v}) ${page}`,
  },
  {
    name: 'Patient.appointments(after)',
    path: 'after',
    caller: clinician,
    kind: 'query',
    type: 'String',
    body: (v) => `patient(id: "${SEEDED.patient}") { appointments(after: ${v}) ${page} }`,
  },
  {
    name: 'Patient.appointments(to)',
    path: 'to',
    caller: clinician,
    kind: 'query',
    type: 'DateTime',
    scalar: true,
    body: (v) => `patient(id: "${SEEDED.patient}") { appointments(to: ${v}) ${page} }`,
  },
  {
    name: 'Patient.notes(after)',
    path: 'after',
    caller: clinician,
    kind: 'query',
    type: 'String',
    body: (v) => `patient(id: "${SEEDED.patient}") { notes(after: ${v}) ${page} }`,
  },
  {
    name: 'Provider.schedule(date)',
    path: 'date',
    caller: scheduler,
    kind: 'query',
    type: 'Date!',
    scalar: true,
    body: (v) => `provider(id: "${SEEDED.clinician}") { schedule(date: ${v}) { id } }`,
  },
  {
    name: 'Provider.availableSlots(from)',
    path: 'from',
    caller: scheduler,
    kind: 'query',
    type: 'DateTime!',
    scalar: true,
    body: (v) => `provider(id: "${SEEDED.clinician}") { availableSlots(from: ${v}, to: "2027-03-02T00:00:00Z") { start } }`,
  },
  ...(['patientId', 'providerId', 'reason', 'idempotencyKey', 'start'] as const).map(
    (field): Site => ({
      name: `bookAppointment(input.${field})`,
      path: `input.${field}`,
      caller: scheduler,
      kind: 'mutation',
      type: field.endsWith('Id') ? 'ID!' : field === 'start' ? 'DateTime!' : 'String!',
      scalar: field === 'start',
      body: (v) => `bookAppointment(input: ${bookingWith(field, v)}) { id }`,
    }),
  ),
  {
    name: 'cancelAppointment(id)',
    path: 'id',
    caller: scheduler,
    kind: 'mutation',
    type: 'ID!',
    body: (v) => `cancelAppointment(id: ${v}) { id }`,
  },
  {
    name: 'cancelAppointment(reason)',
    path: 'reason',
    caller: scheduler,
    kind: 'mutation',
    type: 'String',
    body: (v) => `cancelAppointment(id: "apt-0000001", reason: ${v}) { id }`,
  },
];

/** A value no caller could mean, with a marker that must never come back. */
const HOSTILE = { NUL: 'MARKER\u0000X', 'a lone surrogate': 'MARKER\ud800X' } as const;

interface Sent {
  status: number;
  text: string;
  body: { data?: unknown; errors?: { message: string; extensions?: { code?: string; argumentName?: string } }[] };
  statements: string[];
}

async function send(caller: Caller, query: string, variables?: Record<string, unknown>): Promise<Sent> {
  const token = await stack.token(caller);
  const { result, statements } = await countStatements(stack.db, async () => {
    const response = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, text: await response.text() };
  });
  return { ...result, body: JSON.parse(result.text), statements };
}

function expectRefusedAtTheBoundary(sent: Sent, path: string | undefined, code = 'BAD_USER_INPUT') {
  expect({ status: sent.status, codes: sent.body.errors?.map((e) => e.extensions?.code) }).toEqual({ status: 400, codes: [code] });
  expect(sent.body.data ?? null).toBeNull();
  expect(sent.statements).toEqual([]);
  if (path !== undefined) {
    expect(sent.body.errors![0]!.extensions!.argumentName).toBe(path);
    expect(sent.body.errors![0]!.message).toContain(`"${path}"`);
    expect(sent.text).not.toContain('MARKER');
  }
}

const cases = sites.flatMap((site) => Object.entries(HOSTILE).map(([what, value]) => [site.name, what, site, value] as const));

describe('every string argument is checked at the gateway, before anything is planned, priced or asked of a database', () => {
  it.each(cases)('%s refuses %s sent by variable', async (_, __, site, value) => {
    const sent = await send(site.caller, `${site.kind} Q($v: ${site.type}) { ${site.body('$v')} }`, { v: value });
    expectRefusedAtTheBoundary(sent, site.path);
  });

  it.each(cases)('%s refuses %s sent as a literal', async (_, what, site, value) => {
    const sent = await send(site.caller, `${site.kind} Q { ${site.body(JSON.stringify(value))} }`);
    if (what === 'a lone surrogate') {
      // A GraphQL string is a sequence of Unicode scalar values: the parser refuses the document itself.
      expectRefusedAtTheBoundary(sent, undefined, 'GRAPHQL_PARSE_FAILED');
      expect(sent.text).not.toContain('MARKER');
    } else {
      // Custom scalars (Date, DateTime) refuse a bad literal during validation, in their own words.
      expectRefusedAtTheBoundary(sent, site.scalar ? undefined : site.path);
    }
  });

  it.each(
    (['patientId', 'providerId', 'reason', 'idempotencyKey'] as const).flatMap((field) =>
      Object.entries(HOSTILE).map(([what, value]) => [field, what, value] as const),
    ),
  )('bookAppointment refuses input.%s holding %s inside a whole-input variable', async (field, _, value) => {
    const sent = await send(scheduler, 'mutation Book($input: BookAppointmentInput!) { bookAppointment(input: $input) { id } }', {
      input: { ...booking, [field]: value },
    });
    expectRefusedAtTheBoundary(sent, `input.${field}`);
  });

  it('checks a variable left out by the default value it falls back to', async () => {
    const sent = await send(clinician, 'query Q($v: String = "MARKER\\u0000") { searchProviders(name: $v) { edges { node { id } } } }');
    expectRefusedAtTheBoundary(sent, 'name');
  });

  it('checks arguments inside fragments and inline fragments', async () => {
    const spread = await send(
      clinician,
      'query Q($v: String) { ...F } fragment F on Query { ... on Query { searchProviders(name: $v) { edges { node { id } } } } }',
      { v: HOSTILE.NUL },
    );
    expectRefusedAtTheBoundary(spread, 'name');
  });
});

describe('strings have bounds', () => {
  it('refuses an id over 200 characters and a string over 10,000, by variable and by literal, naming them', async () => {
    const longId = '9'.repeat(201);
    expectRefusedAtTheBoundary(await send(clinician, 'query Q($v: ID!) { patient(id: $v) { id } }', { v: longId }), 'id');
    expectRefusedAtTheBoundary(await send(clinician, `{ patient(id: "${longId}") { id } }`), 'id');
    const long = 'MARKER'.padEnd(10_001, 'y');
    expectRefusedAtTheBoundary(
      await send(clinician, 'query Q($v: String) { searchProviders(name: $v) { edges { node { id } } } }', { v: long }),
      'name',
    );
    expectRefusedAtTheBoundary(await send(clinician, `{ searchProviders(name: "${long}") { edges { node { id } } } }`), 'name');
    const key = await send(scheduler, 'mutation Book($input: BookAppointmentInput!) { bookAppointment(input: $input) { id } }', {
      input: { ...booking, idempotencyKey: 'MARKER'.padEnd(100_000, 'k') },
    });
    expectRefusedAtTheBoundary(key, 'input.idempotencyKey');
    expect(key.body.errors![0]!.message.length).toBeLessThan(300);
  });

  it('lets values within the bounds through to the subgraphs', async () => {
    const id = await send(clinician, 'query Q($v: ID!) { patient(id: $v) { id } }', { v: '9'.repeat(200) });
    expect(id.status).toBe(200);
    expect(id.body.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    const surrogatePair = await send(clinician, 'query Q($v: String) { searchProviders(name: $v) { edges { node { id } } } }', {
      v: 'a\ud83d\ude00',
    });
    expect(surrogatePair.status).toBe(200);
    expect(surrogatePair.body.errors).toBeUndefined();
  });
});
