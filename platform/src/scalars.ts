import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function invalid(type: string, detail: string): GraphQLError {
  return new GraphQLError(`${type} ${detail}`, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
}

function parseDate(value: unknown): Date {
  const match = typeof value === 'string' ? DATE.exec(value) : null;
  if (!match) throw invalid('Date', 'must be a calendar date as YYYY-MM-DD');
  const date = new Date(`${value}T00:00:00Z`);
  if (Number.isNaN(date.getTime()) || date.getUTCDate() !== Number(match[3])) throw invalid('Date', 'is not a real calendar date');
  // PostgreSQL has no year 0 (1 BC comes before AD 1): refused here, not as a failed statement.
  if (date.getUTCFullYear() < 1) throw invalid('Date', 'must be in year 1 or later');
  return date;
}

function parseDateTime(value: unknown): Date {
  if (typeof value !== 'string' || !DATE_TIME.test(value))
    throw invalid('DateTime', 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-23T09:30:00Z');
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw invalid('DateTime', 'is not a real date-time');
  if (date.getUTCFullYear() < 1) throw invalid('DateTime', 'must be in year 1 or later');
  return date;
}

/** A calendar date (YYYY-MM-DD), carried as a UTC-midnight Date inside the subgraphs. */
export const DateScalar = new GraphQLScalarType<Date, string>({
  name: 'Date',
  description: 'A calendar date, YYYY-MM-DD.',
  serialize: (value) => (value instanceof Date ? value.toISOString().slice(0, 10) : parseDate(value).toISOString().slice(0, 10)),
  parseValue: parseDate,
  parseLiteral: (ast) =>
    ast.kind === Kind.STRING
      ? parseDate(ast.value)
      : (() => {
          throw invalid('Date', 'must be a string');
        })(),
});

/** An instant, ISO 8601 with a zone; always serialised in UTC. */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An instant in ISO 8601 with a time zone, e.g. 2026-11-23T09:30:00Z.',
  serialize: (value) => (value instanceof Date ? value.toISOString() : parseDateTime(value).toISOString()),
  parseValue: parseDateTime,
  parseLiteral: (ast) =>
    ast.kind === Kind.STRING
      ? parseDateTime(ast.value)
      : (() => {
          throw invalid('DateTime', 'must be a string');
        })(),
});
