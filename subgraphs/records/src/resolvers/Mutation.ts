import { type AddAllergyInput, addAllergy, type RecordVitalsInput, recordVitals } from '../clinical-writes.js';
import type { Context } from '../context.js';

const patient = (id: string) => ({ __typename: 'Patient', id });

export const Mutation = {
  recordVitals: async (_: unknown, { input }: { input: RecordVitalsInput }, { data }: Context) => ({
    patient: patient(input.patientId),
    observations: await recordVitals(data, input),
  }),
  addAllergy: async (_: unknown, { input }: { input: AddAllergyInput }, { data }: Context) => ({
    patient: patient(input.patientId),
    allergy: await addAllergy(data, input),
  }),
};
