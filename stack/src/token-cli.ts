/** `npm run -s token -- --role ROLE [--sub ID] [--purpose P] [--reason TEXT] [--ttl SECONDS]` prints a development JWT. */
import { commandLine } from '@healthgraph/db/command-line';
import { SEEDED } from '@healthgraph/db/seed';
import { loadGatewayConfig } from '@healthgraph/gateway/config';
import { mintDevToken } from '@healthgraph/gateway/dev-token';
import { ConfigError, isPurpose, isRole, PURPOSES, ROLES, type Role } from '@healthgraph/platform';

const DEFAULT_SUB: Record<Role, string> = {
  PATIENT: SEEDED.patient,
  CLINICIAN: SEEDED.clinician,
  SCHEDULER: 'staff-scheduler-1',
  BILLING: 'staff-billing-1',
  ADMIN: 'staff-admin-1',
  AUDITOR: 'staff-auditor-1',
};

const USAGE = `usage: npm run -s token -- --role ROLE [--sub ID] [--purpose PURPOSE] [--reason TEXT] [--ttl SECONDS]

Prints a development client token (HS256, signed with JWT_SECRET or the development secret) alone
on stdout, for the Authorization header: Bearer <token>. Production tokens come from the
identity provider (JWT_JWKS_URL); this command refuses to sign without a shared secret.

  --role ROLE        ${ROLES.join(', ')}
  --sub ID           the caller's id (default: ${SEEDED.clinician} for CLINICIAN, ${SEEDED.patient} for PATIENT, a staff id otherwise)
  --purpose PURPOSE  ${PURPOSES.join(', ')} (default: the role's own; BTG is break-glass and needs --reason)
  --reason TEXT      why break-glass access is needed (purpose BTG)
  --ttl SECONDS      lifetime (default 3600; break-glass at most 900)
  --help             this text`;

const cli = commandLine('token', USAGE, {
  role: { type: 'string' },
  sub: { type: 'string' },
  purpose: { type: 'string' },
  reason: { type: 'string' },
  ttl: { type: 'string' },
});
const { values } = cli;
// Annotated, so that TypeScript knows what follows a failed check is unreachable.
const fail: (message: string) => never = cli.fail;
const role = values.role?.toUpperCase();
const purpose = values.purpose?.toUpperCase();
if (!isRole(role))
  fail(values.role === undefined ? '--role is required' : `--role must be one of ${ROLES.join(', ')}, not "${values.role}"`);
if (purpose !== undefined && !isPurpose(purpose)) fail(`--purpose must be one of ${PURPOSES.join(', ')}, not "${values.purpose}"`);
if (values.ttl !== undefined && !/^[1-9]\d*$/.test(values.ttl)) fail(`--ttl must be a whole number of seconds, not "${values.ttl}"`);
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
  console.error(error instanceof ConfigError ? `Configuration error: ${error.message}` : `token: ${(error as Error).message}`);
  process.exit(1);
}
