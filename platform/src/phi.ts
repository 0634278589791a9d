/**
 * The types whose fields are protected health information, declared once for the gateway and
 * every subgraph, with where the patient an object belongs to is found: the object itself
 * (Patient), its `patient` field (Appointment, Consent), or the patient it is reached through
 * (clinical rows). An envelope (a write's answer) is not PHI itself; its `patient` field names
 * whose rows it carries.
 */
export const PHI_TYPES = {
  Patient: 'self',
  Appointment: 'patientField',
  Consent: 'patientField',
  Allergy: 'enclosingPatient',
  Medication: 'enclosingPatient',
  Condition: 'enclosingPatient',
  Observation: 'enclosingPatient',
  ClinicalNote: 'enclosingPatient',
  RecordVitalsPayload: 'envelope',
  AddAllergyPayload: 'envelope',
} as const;
export type PhiType = keyof typeof PHI_TYPES;

/** Whether the audit must attribute objects of this type to a patient (PHI types and envelopes). */
export const isPhiType = (name: string): name is PhiType => Object.hasOwn(PHI_TYPES, name);
/** Whether the fields of objects of this type are PHI themselves (everything but envelopes). */
export const discloses = (name: string): boolean => isPhiType(name) && PHI_TYPES[name] !== 'envelope';
