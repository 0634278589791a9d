import { type ContactInput, updateContact } from '../contact.js';
import type { Context } from '../context.js';
import { ConsentMutation } from './Consent.js';

/** The patient's answer after a contact change, read fresh through the caller's own scoped view. */
const fresh = async ({ loaders }: Context, id: string) => loaders.patientById.clear(id).load(id);

export const Mutation = {
  ...ConsentMutation,
  updateMyContact: async (_: unknown, args: { input: ContactInput; idempotencyKey?: string | null }, context: Context) =>
    fresh(
      context,
      await updateContact(context.data, 'Mutation.updateMyContact', context.data.policy.self, args.input, args.idempotencyKey),
    ),
  updateContact: async (_: unknown, args: { patientId: string; input: ContactInput; idempotencyKey?: string | null }, context: Context) =>
    fresh(context, await updateContact(context.data, 'Mutation.updateContact', args.patientId, args.input, args.idempotencyKey)),
};
