import { type DocumentNode, type FragmentDefinitionNode, Kind } from 'graphql';

/** The named fragments of a document, by name: every walk over an operation's selections needs them. */
export function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  return fragments;
}
