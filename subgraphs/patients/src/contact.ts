import { idempotencyKeyOf, idempotent, loadAll, type ScopedData } from '@healthgraph/kit';
import { auditInTransaction, badUserInput, forbidden, notFound } from '@healthgraph/platform';

export interface ContactInput {
  phone?: string | null;
  email?: string | null;
  address?: { line?: string | null; city?: string | null; state?: string | null; postalCode?: string | null } | null;
}

type ContactColumns = Partial<Record<'phone' | 'email' | 'addressLine' | 'city' | 'state' | 'postalCode', string | null>>;

/** A phone number as people write it: digits with +, spaces, dots, dashes and brackets; 7 to 15 digits (E.164). */
const PHONE = /^\+?[0-9 ().-]{7,25}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$/;
const STATE = /^[A-Z]{2}$/;
const POSTAL_CODE = /^[0-9]{5}(-[0-9]{4})?$/;

/** Checks what a caller sent, naming the argument that is wrong; an empty string clears like null. */
function columnsOf(input: ContactInput, argument: string): ContactColumns {
  const columns: ContactColumns = {};
  const text = (value: string | null | undefined, name: string, max: number, pattern?: RegExp, shape?: string) => {
    if (value === undefined) return undefined;
    const trimmed = value?.trim() ?? '';
    if (trimmed === '') return null;
    if (trimmed.length > max) throw badUserInput(`${argument}.${name}`, `must be at most ${max} characters`);
    if (pattern && !pattern.test(trimmed)) throw badUserInput(`${argument}.${name}`, `must be ${shape}`);
    return trimmed;
  };
  const set = (column: keyof ContactColumns, value: string | null | undefined) => {
    if (value !== undefined) columns[column] = value;
  };
  const phone = text(input.phone, 'phone', 25, PHONE, 'a phone number (digits, optionally +, spaces, dots, dashes, brackets)');
  if (phone && (phone.match(/[0-9]/g)?.length ?? 0) < 7) throw badUserInput(`${argument}.phone`, 'must have at least 7 digits');
  if (phone && (phone.match(/[0-9]/g)?.length ?? 0) > 15) throw badUserInput(`${argument}.phone`, 'must have at most 15 digits');
  set('phone', phone);
  set('email', text(input.email, 'email', 254, EMAIL, 'an e-mail address'));
  if (input.address === null) {
    Object.assign(columns, { addressLine: null, city: null, state: null, postalCode: null });
  } else if (input.address) {
    set('addressLine', text(input.address.line, 'address.line', 200));
    set('city', text(input.address.city, 'address.city', 100));
    const { state } = input.address;
    set(
      'state',
      text(state === null || state === undefined ? state : state.toUpperCase(), 'address.state', 2, STATE, 'a two-letter state code'),
    );
    set('postalCode', text(input.address.postalCode, 'address.postalCode', 10, POSTAL_CODE, 'a ZIP code (12345 or 12345-6789)'));
  }
  if (Object.keys(columns).length === 0) throw badUserInput(argument, 'give at least one of phone, email or address');
  return columns;
}

/** The audit's names for what changed. */
const FIELD_OF: Record<keyof ContactColumns, string> = {
  phone: 'phone',
  email: 'email',
  addressLine: 'address',
  city: 'address',
  state: 'address',
  postalCode: 'address',
};

/**
 * Changes a patient's phone, e-mail or address: the patient themself (updateMyContact) or the front
 * desk (updateContact). The change and its audit event commit together; the patient's cached views
 * are invalidated on every replica before the answer is sent.
 */
export async function updateContact(
  data: ScopedData,
  coordinate: 'Mutation.updateMyContact' | 'Mutation.updateContact',
  patientId: string | null,
  input: ContactInput,
  idempotencyKey: string | null | undefined,
): Promise<string> {
  const { prisma, policy } = data;
  if (!patientId || !policy.mayUpdateContact(patientId)) {
    data.audit.denied(patientId, 'Patient', coordinate);
    throw forbidden('this role and purpose may not change the contact details of this patient');
  }
  const key = idempotencyKey == null ? null : idempotencyKeyOf(idempotencyKey, 'idempotencyKey');
  const columns = columnsOf(input, 'input');
  const [visible] = await loadAll(data.canSeePatient, [patientId]);
  if (!visible) {
    data.audit.denied(patientId, 'Patient', coordinate);
    throw notFound('Patient', patientId);
  }
  await idempotent(prisma, {
    actor: data.principal.sub,
    operation: coordinate,
    key,
    request: { patientId, columns },
    write: async (tx) => {
      const { count } = await tx.patient.updateMany({ where: { id: patientId }, data: columns });
      if (count === 0) throw notFound('Patient', patientId);
      const fields = [...new Set(Object.keys(columns).map((column) => FIELD_OF[column as keyof ContactColumns]))];
      await auditInTransaction(tx, [data.audit.written(patientId, 'Patient', coordinate, patientId, fields)]);
      return [patientId];
    },
    read: async (ids) => ids[0]!,
  });
  await data.cache?.invalidate([`patient:${patientId}`]);
  return patientId;
}
