import { type BookAppointmentInput, bookAppointment, cancelAppointment } from '../booking.js';
import type { Context } from '../context.js';

export const Mutation = {
  bookAppointment: (_: unknown, { input }: { input: BookAppointmentInput }, { data }: Context) => bookAppointment(data, input),
  cancelAppointment: (_: unknown, { id, reason }: { id: string; reason?: string | null }, { data }: Context) =>
    cancelAppointment(data, id, reason),
};
