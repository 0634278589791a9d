/** `npm run -s token -- --role ROLE [--sub ID] [--purpose P] [--reason TEXT]` prints a development JWT. */
import { parseArgs } from 'node:util';
import { SEEDED } from '@healthgraph/db/seed';
import { loadGatewayConfig } from '@healthgraph/gateway/config';
import { mintDevToken } from '@healthgraph/gateway/dev-token';
import { isPurpose, isRole, PURPOSES, ROLES, type Role } from '@healthgraph/platform';

const DEFAULT_SUB: Record<Role, string> = {
  PATIENT: SEEDED.patient,
  CLINICIAN: SEEDED.clinician,
  SCHEDULER: 'staff-scheduler-1',
  BILLING: 'staff-billing-1',
  ADMIN: 'staff-admin-1',
  AUDITOR: 'staff-auditor-1',
};

const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    sub: { type: 'string' },
    purpose: { type: 'string' },
    reason: { type: 'string' },
    ttl: { type: 'string' },
  },
});
const role = values.role?.toUpperCase();
const purpose = values.purpose?.toUpperCase();
if (!isRole(role) || (purpose !== undefined && !isPurpose(purpose))) {
  console.error(
    `usage: npm run -s token -- --role ${ROLES.join('|')} [--sub ID] [--purpose ${PURPOSES.join('|')}] [--reason TEXT] [--ttl SECONDS]`,
  );
  process.exit(2);
}
try {
  const token = await mintDevToken(loadGatewayConfig().jwt, {
    role,
    sub: values.sub ?? DEFAULT_SUB[role],
    purpose,
    reason: values.reason,
    ttlSeconds: values.ttl ? Number(values.ttl) : undefined,
  });
  process.stdout.write(`${token}\n`);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
