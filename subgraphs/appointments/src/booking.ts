import { randomUUID } from 'node:crypto';
import type { Appointment } from '@healthgraph/db';
import { BOOKING, idempotencyKeyOf, loadAll, type ScopedData, isViolation as violation } from '@healthgraph/kit';
import { auditInTransaction, badUserInput, forbidden, idempotencyKeyReused, notFound, slotUnavailable } from '@healthgraph/platform';
import { findSlot } from './slots.js';

export interface BookAppointmentInput {
  patientId: string;
  providerId: string;
  start: Date;
  reason?: string | null;
  idempotencyKey: string;
}

/** After a committed change, no replica may serve a view of what it changed (the care team included). */
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

/** Whether the policy lets this caller book or cancel for this patient; refusals are recorded. */
async function mayScheduleFor(data: ScopedData, patientId: string, coordinate: string): Promise<void> {
  if (!data.policy.mayWriteAppointments) {
    data.audit.denied(patientId, 'Appointment', coordinate);
    throw forbidden('this role and purpose may not book or cancel appointments');
  }
  const [visible] = await loadAll(data.canSeePatient, [patientId]);
  if (!visible) {
    data.audit.denied(patientId, 'Appointment', coordinate);
    throw notFound('Patient', patientId);
  }
}

/**
 * Books a slot. The database decides races: the unique index on (providerId, activeStart) lets
 * exactly one of many simultaneous bookings commit; the others get SLOT_UNAVAILABLE and write
 * nothing, except retries of the winner itself (same caller, same key), which get its booking.
 */
export async function bookAppointment(data: ScopedData, input: BookAppointmentInput): Promise<Appointment> {
  const { prisma, principal, policy } = data;
  const key = idempotencyKeyOf(input.idempotencyKey, 'input.idempotencyKey');
  if (input.reason && input.reason.length > 500) throw badUserInput('input.reason', 'must be at most 500 characters');
  await mayScheduleFor(data, input.patientId, 'Mutation.bookAppointment');

  const byKey = () =>
    prisma.appointment.findUnique({ where: { bookedBy_idempotencyKey: { bookedBy: principal.sub, idempotencyKey: key } } });
  const previous = await byKey();
  if (previous) return replay(previous, input);

  // A booking grants the provider the chart for the visit: never years ahead.
  if (!policy.bookable(input.start))
    throw badUserInput('input.start', `must be in the future and at most ${BOOKING.horizonDays} days ahead`);
  const provider = await prisma.provider.findUnique({ where: { id: input.providerId }, select: { id: true } });
  if (!provider) throw notFound('Provider', input.providerId);
  const slot = await findSlot(prisma, input.providerId, input.start);
  if (!slot) throw badUserInput('input.start', "is not the start of a slot in the provider's availability");

  const id = `apt-${randomUUID()}`;
  try {
    const booked = await prisma.$transaction(async (tx) => {
      const appointment = await tx.appointment.create({
        data: {
          id,
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
      // The visit makes the provider part of the patient's care for its preparation, the visit and its
      // follow-up only (minimum necessary), and the membership ends with the booking if it is cancelled.
      await tx.careTeamMember.create({
        data: {
          id: `ctm-${randomUUID()}`,
          patientId: input.patientId,
          providerId: input.providerId,
          role: 'ATTENDING',
          appointmentId: id,
          ...policy.bookingGrant(slot),
        },
      });
      await auditInTransaction(tx, [
        data.audit.written(input.patientId, 'Appointment', 'Mutation.bookAppointment', id, ['start', 'provider', 'reason']),
      ]);
      return appointment;
    });
    await invalidateAfter(data, booked);
    return booked;
  } catch (error) {
    if (violation(error, 'P2002', 'idempotencyKey') || violation(error, 'P2002', 'activeStart')) {
      // A concurrent retry with the same key won the race (the slot is taken by its own booking): its answer is this one's.
      const winner = await byKey();
      if (winner) return replay(winner, input);
      if (violation(error, 'P2002', 'activeStart')) throw slotUnavailable(input.providerId, input.start.toISOString());
    }
    if (violation(error, 'P2003', 'patientId')) throw notFound('Patient', input.patientId);
    if (violation(error, 'P2003', 'providerId')) throw notFound('Provider', input.providerId);
    throw error;
  }
}

/**
 * Cancels a booked appointment, frees its slot and ends the care-team membership its booking made,
 * in one transaction; cancelling twice returns the cancelled appointment. An appointment of a
 * patient the caller cannot see is NOT_FOUND, exactly as one that does not exist.
 */
export async function cancelAppointment(data: ScopedData, id: string, reason: string | null | undefined): Promise<Appointment> {
  const { prisma, policy } = data;
  if (reason && reason.length > 500) throw badUserInput('reason', 'must be at most 500 characters');
  const scope = policy.patientsWhere();
  const appointment = scope && policy.mayWriteAppointments ? await prisma.appointment.findFirst({ where: { id, patient: scope } }) : null;
  if (!appointment) {
    data.audit.denied(null, 'Appointment', 'Mutation.cancelAppointment', id);
    if (!policy.mayWriteAppointments) throw forbidden('this role and purpose may not book or cancel appointments');
    throw notFound('Appointment', id);
  }
  if (appointment.status === 'CANCELLED') return appointment;
  const now = new Date();
  const current = await prisma.$transaction(async (tx) => {
    // Conditional update: a concurrent cancel or check-in cannot be overwritten.
    const { count } = await tx.appointment.updateMany({
      where: { id, status: 'BOOKED' },
      data: { status: 'CANCELLED', activeStart: null, cancelledAt: now, cancelReason: reason ?? null },
    });
    const after = await tx.appointment.findUniqueOrThrow({ where: { id } });
    if (count === 0) return { after, changed: false };
    await tx.careTeamMember.updateMany({
      where: { appointmentId: id, OR: [{ periodEnd: null }, { periodEnd: { gt: now } }] },
      data: { periodEnd: now },
    });
    await auditInTransaction(tx, [data.audit.written(after.patientId, 'Appointment', 'Mutation.cancelAppointment', id, ['status'])]);
    return { after, changed: true };
  });
  if (current.changed) await invalidateAfter(data, current.after);
  else if (current.after.status !== 'CANCELLED')
    throw badUserInput('id', `only booked appointments can be cancelled (this one is ${current.after.status})`);
  return current.after;
}
