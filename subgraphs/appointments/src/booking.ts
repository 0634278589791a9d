import { randomUUID } from 'node:crypto';
import { type Appointment, Prisma } from '@healthgraph/db';
import type { ScopedData } from '@healthgraph/kit';
import { badUserInput, forbidden, idempotencyKeyReused, notFound, type Role, slotUnavailable } from '@healthgraph/platform';
import { findSlot } from './slots.js';

/** Who may book or cancel, for the patients they can see (self, care team, any for SCHEDULER). */
const SCHEDULING_ROLES: ReadonlySet<Role> = new Set(['PATIENT', 'CLINICIAN', 'SCHEDULER']);
/** How long after a visit a provider added by booking stays on the care team. */
export const ATTENDING_FOLLOW_UP_MS = 30 * 86_400_000;

export interface BookAppointmentInput {
  patientId: string;
  providerId: string;
  start: Date;
  reason?: string | null;
  idempotencyKey: string;
}

function uniqueViolationOn(error: unknown, column: string): boolean {
  return (
    error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002' && JSON.stringify(error.meta ?? {}).includes(column)
  );
}

async function mayScheduleFor(data: ScopedData, patientId: string, coordinate: string): Promise<void> {
  // Break-glass reaches emergency data, not the scheduling desk.
  if (!SCHEDULING_ROLES.has(data.principal.role) || data.principal.purpose === 'BTG') {
    data.audit.denied(patientId, 'Appointment', coordinate);
    throw forbidden('this role may not book or cancel appointments');
  }
  if (!(await data.canSeePatient.load(patientId))) {
    data.audit.denied(patientId, 'Appointment', coordinate);
    throw notFound('Patient', patientId);
  }
}

/** After a committed change, no replica may serve a view of what it changed. */
function invalidateAfter(data: ScopedData, appointment: Appointment): Promise<void> {
  return (
    data.cache?.invalidate([
      `appointments:patient:${appointment.patientId}`,
      `appointments:provider:${appointment.providerId}`,
      `careteam:${appointment.patientId}`,
    ]) ?? Promise.resolve()
  );
}

/** The same request retried with its key gets the booking it made; a different request with that key is refused. */
function replay(existing: Appointment, input: BookAppointmentInput): Appointment {
  const same =
    existing.patientId === input.patientId &&
    existing.providerId === input.providerId &&
    existing.start.getTime() === input.start.getTime();
  if (!same) throw idempotencyKeyReused();
  return existing;
}

/**
 * Books a slot. The database decides races: the unique index on (providerId, activeStart) lets
 * exactly one of many simultaneous bookings commit; the others get SLOT_UNAVAILABLE and write nothing.
 */
export async function bookAppointment(data: ScopedData, input: BookAppointmentInput): Promise<Appointment> {
  const { prisma, principal } = data;
  const key = input.idempotencyKey.trim();
  if (key.length < 8 || key.length > 128) throw badUserInput('input.idempotencyKey', 'must be 8 to 128 characters');
  if (input.reason && input.reason.length > 500) throw badUserInput('input.reason', 'must be at most 500 characters');
  await mayScheduleFor(data, input.patientId, 'Mutation.bookAppointment');

  const previous = await prisma.appointment.findUnique({
    where: { bookedBy_idempotencyKey: { bookedBy: principal.sub, idempotencyKey: key } },
  });
  if (previous) return replay(previous, input);

  if (input.start.getTime() <= Date.now()) throw badUserInput('input.start', 'must be in the future');
  const provider = await prisma.provider.findUnique({ where: { id: input.providerId }, select: { id: true } });
  if (!provider) throw notFound('Provider', input.providerId);
  const slot = await findSlot(prisma, input.providerId, input.start);
  if (!slot) throw badUserInput('input.start', "is not the start of a slot in the provider's availability");

  try {
    const booked = await prisma.$transaction(async (tx) => {
      const appointment = await tx.appointment.create({
        data: {
          id: `apt-${randomUUID()}`,
          patientId: input.patientId,
          providerId: input.providerId,
          start: slot.start,
          end: slot.end,
          activeStart: slot.start,
          status: 'BOOKED',
          reason: input.reason ?? null,
          bookedBy: principal.sub,
          idempotencyKey: key,
        },
      });
      // The visit makes the provider part of the patient's care (an attending relationship), for
      // the visit and its follow-up only: minimum necessary, not a lasting key to the whole chart.
      const now = new Date();
      const member = await tx.careTeamMember.findFirst({
        where: { patientId: input.patientId, providerId: input.providerId, OR: [{ periodEnd: null }, { periodEnd: { gt: now } }] },
        select: { id: true },
      });
      if (!member) {
        await tx.careTeamMember.createMany({
          data: [
            {
              id: `ctm-${randomUUID()}`,
              patientId: input.patientId,
              providerId: input.providerId,
              role: 'ATTENDING',
              periodStart: now,
              periodEnd: new Date(slot.end.getTime() + ATTENDING_FOLLOW_UP_MS),
            },
          ],
          skipDuplicates: true,
        });
      }
      return appointment;
    });
    await invalidateAfter(data, booked);
    return booked;
  } catch (error) {
    if (uniqueViolationOn(error, 'activeStart')) throw slotUnavailable(input.providerId, input.start.toISOString());
    if (uniqueViolationOn(error, 'idempotencyKey')) {
      // A concurrent retry with the same key won the race: answer with what it booked.
      const winner = await prisma.appointment.findUnique({
        where: { bookedBy_idempotencyKey: { bookedBy: principal.sub, idempotencyKey: key } },
      });
      if (winner) return replay(winner, input);
    }
    throw error;
  }
}

/** Cancels a booked appointment and frees its slot; cancelling twice returns the cancelled appointment. */
export async function cancelAppointment(data: ScopedData, id: string, reason: string | null | undefined): Promise<Appointment> {
  const { prisma } = data;
  if (reason && reason.length > 500) throw badUserInput('reason', 'must be at most 500 characters');
  const appointment = await prisma.appointment.findUnique({ where: { id } });
  if (!appointment) {
    data.audit.denied(null, 'Appointment', 'Mutation.cancelAppointment', id);
    throw notFound('Appointment', id);
  }
  await mayScheduleFor(data, appointment.patientId, 'Mutation.cancelAppointment');
  if (appointment.status === 'CANCELLED') return appointment;
  // Conditional update: a concurrent cancel or check-in cannot be overwritten.
  const { count } = await prisma.appointment.updateMany({
    where: { id, status: 'BOOKED' },
    data: { status: 'CANCELLED', activeStart: null, cancelledAt: new Date(), cancelReason: reason ?? null },
  });
  const current = await prisma.appointment.findUniqueOrThrow({ where: { id } });
  if (count > 0) await invalidateAfter(data, current);
  if (count === 0 && current.status !== 'CANCELLED')
    throw badUserInput('id', `only booked appointments can be cancelled (this one is ${current.status})`);
  return current;
}
