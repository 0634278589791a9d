import type { ClinicalNote as NoteRow } from '@healthgraph/db';

const SNOMED = 'http://snomed.info/sct';
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const LOINC = 'http://loinc.org';

const coded = (system: string) => ({
  code: (row: { code: string; display: string }) => ({ system, code: row.code, display: row.display }),
});

export const Allergy = coded(SNOMED);
export const Medication = coded(RXNORM);
export const Condition = coded(SNOMED);
export const Observation = coded(LOINC);
export const ClinicalNote = {
  code: () => ({ system: LOINC, code: '11506-3', display: 'Progress note' }),
  author: (note: NoteRow) => ({ __typename: 'Provider', id: note.authorId }),
};
