import { Prisma, SEEDED } from '@healthgraph/db';
import { policyFor } from '@healthgraph/kit';
import type { Principal } from '@healthgraph/platform';
import type { Walls } from '@healthgraph/stack';
import { afterAll, describe, expect, it } from 'vitest';
import { countStatements } from './helpers/database.js';
import { codes, startTestStack, type TestStack } from './helpers/stack.js';

/**
 * Three walls stand between a caller and what its scopes do not cover: the gateway removes the
 * fields before planning, each subgraph enforces the same field rules on its resolvers, and the
 * data layer asks the policy before it reads or writes. Each is taken away in turn here, through
 * real requests, and what it guarded must still be refused, with nothing read or written.
 */

const billing = { role: 'BILLING' as const, sub: 'staff-billing-1' };
const CLINICAL = `{ patient(id: "${SEEDED.patient}") { name { text } allergies { id } vitals { id } } }`;
const CANCEL = 'mutation($id: ID!) { cancelAppointment(id: $id) { id status } }';

/** A data layer that would allow everything: the policy a careless subgraph would have. */
const permissive = (principal: Principal) => ({
  ...policyFor(principal),
  reach: 'all' as const,
  patientsWhere: () => ({}),
  patientScopeSql: () => Prisma.sql`TRUE`,
  mayRead: () => true,
  mayWriteAppointments: true,
});

const stacks: TestStack[] = [];
afterAll(() => Promise.all(stacks.map((stack) => stack.close())));
async function stackWith(walls: Walls) {
  const stack = await startTestStack({ seed: { patients: 20 }, walls, cache: { enabled: false } });
  stacks.push(stack);
  return stack;
}

/** Billing reads clinical data and cancels an appointment; both must be refused with nothing read or written. */
async function expectRefused(stack: TestStack, refusedBy: string) {
  const { result: read, statements } = await countStatements(stack.db, () => stack.query(billing, CLINICAL));
  expect(codes(read).sort(), refusedBy).toEqual([refusedBy, refusedBy]);
  const chart = read.body.data!.patient as { name: unknown; allergies: unknown; vitals: unknown };
  expect(chart.name).toBeTruthy();
  expect(chart.allergies).toBeNull();
  expect(chart.vitals).toBeNull();
  expect(statements.filter((sql) => /"(Allergy|Observation)"/.test(sql))).toEqual([]);

  const appointment = await stack.db.prisma.appointment.findFirstOrThrow({ where: { patientId: SEEDED.patient, status: 'BOOKED' } });
  const cancel = await stack.query(billing, CANCEL, { id: appointment.id });
  expect(codes(cancel)).toEqual([refusedBy === 'FORBIDDEN' ? 'FORBIDDEN' : refusedBy]);
  expect((await stack.db.prisma.appointment.findUniqueOrThrow({ where: { id: appointment.id } })).status).toBe('BOOKED');
}

describe('defence in depth: each wall holds on its own', () => {
  it('the gateway alone (the subgraphs enforce no field rules and their data layer allows everything)', async () => {
    await expectRefused(await stackWith({ subgraphFieldRules: false, policy: permissive }), 'UNAUTHORIZED_FIELD_OR_TYPE');
  });

  it('the subgraphs’ field rules alone (the gateway removes nothing and the data layer allows everything)', async () => {
    await expectRefused(await stackWith({ gatewayFieldRules: false, policy: permissive }), 'UNAUTHORIZED_FIELD_OR_TYPE');
  });

  it('the data layer’s policy alone (no field rules anywhere)', async () => {
    await expectRefused(await stackWith({ gatewayFieldRules: false, subgraphFieldRules: false }), 'FORBIDDEN');
  });

  it('and with every wall up, as in production, the gateway refuses first and no subgraph is asked', async () => {
    await expectRefused(await stackWith({}), 'UNAUTHORIZED_FIELD_OR_TYPE');
  });
});
