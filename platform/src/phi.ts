/**
 * The types whose fields are protected health information, declared once for the gateway and
 * every subgraph, with where the patient an object belongs to is found: the object itself
 * (Patient), its `patient` field (Appointment), or the patient it is reached through (clinical rows).
 */
export const PHI_TYPES = {
  Patient: 'self',
  Appointment: 'patientField',
  Allergy: 'enclosingPatient',
  Medication: 'enclosingPatient',
  Condition: 'enclosingPatient',
  Observation: 'enclosingPatient',
  ClinicalNote: 'enclosingPatient',
} as const;
export type PhiType = keyof typeof PHI_TYPES;

export const isPhiType = (name: string): name is PhiType => Object.hasOwn(PHI_TYPES, name);
