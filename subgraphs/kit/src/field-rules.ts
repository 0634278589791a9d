import type { Principal } from '@healthgraph/platform';
import { requiredScopes, satisfies, scopesFor } from '@healthgraph/platform';
import { defaultFieldResolver, GraphQLError, type GraphQLSchema, isObjectType } from 'graphql';

/**
 * Enforces the subgraph's own @requiresScopes on its resolvers. The gateway already removes such
 * fields before planning; this is the second wall, for any request that reaches the subgraph some
 * other way (an `_entities` call, a misrouted plan), so a field is never resolved for a caller
 * whose scopes do not cover it.
 */
export function enforceFieldRules(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const groups = requiredScopes(field.astNode?.directives);
      if (!groups) continue;
      const resolve = field.resolve ?? defaultFieldResolver;
      field.resolve = (source, args, context: { principal: Principal }, info) => {
        if (!satisfies(scopesFor(context.principal), groups)) {
          throw new GraphQLError('The caller may not read this field', { extensions: { code: 'UNAUTHORIZED_FIELD_OR_TYPE' } });
        }
        return resolve(source, args, context, info);
      };
    }
  }
  return schema;
}
