// fast-check arbitraries for the endpoint fuzzer: valid values from a JSON Schema (the request
// schemas of GET /api/openapi.json, themselves made from the routes' zod schemas), values that
// break one rule of it, and the hostile bits every input should survive.
import fc from 'fast-check';

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  format?: string;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  default?: unknown;
};

/** Text no validator expects: control characters, lone surrogates, right-to-left marks, NUL, emoji. */
export const oddText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\uD800',
    '\uDFFF',
    '\u202E\u202Dabc',
    '\uFEFF',
    'e\u0301',
    '👩‍👩‍👧‍👦',
    '\u0130\u0131',
    "' or 1=1 --",
    '"; drop table users; --',
    '${7*7}',
    '<script>alert(1)</script>',
    '../../etc/passwd',
    '%00',
    '\r\n\r\nX-Injected: 1',
    '__proto__',
    'constructor',
    'NaN',
    'Infinity',
    '1e309',
  ),
);

export const hugeText = fc.oneof(
  fc.integer({ min: 201, max: 6000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => '\u{1F600}'.repeat(n / 2)),
);

/** Numbers that break integer, range and finiteness rules (1e309 parses to Infinity). */
export const oddNumber = fc.oneof(
  fc.constantFrom(-1, 0, -0, 0.5, 1.5, -0.000001, 2 ** 31, 2 ** 53 + 1, -(2 ** 53), 1e21, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -1_000_000_000, max: -1 }),
);

/** Any JSON value of the wrong kind for a field. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { depthSize: 'small' },
  fc.constant(null),
  fc.boolean(),
  oddNumber,
  oddText,
  fc.array(fc.oneof(oddText, oddNumber, fc.constant(null)), { maxLength: 5 }),
  fc.dictionary(oddText, fc.oneof(oddText, oddNumber), { maxKeys: 4 }),
);

const typesOf = (schema: JsonSchema): string[] => (Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : []);

/** A value the JSON Schema accepts (formats and patterns of this API only). */
export function validValue(schema: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return fc.oneof(...union.filter((s) => !typesOf(s).includes('null')).map(validValue));
  const [type] = typesOf(schema).filter((t) => t !== 'null');
  switch (type) {
    case 'boolean':
      return fc.boolean();
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 0);
      const max = Math.min(schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : 1000), min + 1000);
      return fc.integer({ min: Math.ceil(min), max: Math.floor(max) });
    }
    case 'string':
      return validString(schema);
    case 'array': {
      const minLength = schema.minItems ?? 0;
      const maxLength = Math.min(schema.maxItems ?? 5, minLength + 4);
      return fc.uniqueArray(validValue(schema.items ?? {}), { minLength, maxLength, selector: (v) => JSON.stringify(v) });
    }
    case 'object': {
      const properties = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const fields = Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, validValue(property)]));
      if (Object.keys(properties).length === 0 && typeof schema.additionalProperties === 'object') {
        return fc.dictionary(validString(schema.propertyNames ?? { minLength: 1, maxLength: 20 }), validValue(schema.additionalProperties), { minKeys: 1, maxKeys: 3 });
      }
      return fc.record(fields, { requiredKeys: [...required].filter((name) => name in fields) });
    }
    default:
      return anyJson;
  }
}

function validString(schema: JsonSchema): fc.Arbitrary<string> {
  switch (schema.format) {
    case 'email':
      return fc.tuple(fc.stringMatching(/^[a-z0-9]{1,12}$/), fc.constantFrom('example.com', 'fuzz.test')).map(([local, domain]) => `${local}@${domain}`);
    case 'uuid':
      return fc.uuid();
    case 'date-time':
      return fc.date({ min: new Date('2020-01-01'), max: new Date('2035-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
  }
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
  const minLength = Math.max(schema.minLength ?? 0, 1);
  const maxLength = Math.min(schema.maxLength ?? 40, minLength + 40);
  return fc.string({ minLength, maxLength }).map((s) => (s.trim().length >= minLength ? s : `${s}${'a'.repeat(minLength)}`.slice(0, maxLength)));
}

/** A value that breaks the schema: the wrong kind, out of range, too long or short, not in the enum. */
export function invalidValue(schema: JsonSchema): fc.Arbitrary<unknown> {
  const options: fc.Arbitrary<unknown>[] = [];
  const types = typesOf(schema);
  if (!types.includes('null')) options.push(fc.constant(null));
  if (!types.includes('string') && !schema.enum) options.push(oddText);
  if (!types.includes('number') && !types.includes('integer')) options.push(oddNumber);
  if (!types.includes('boolean')) options.push(fc.boolean());
  if (!types.includes('object')) options.push(fc.constant({ nested: { deeper: [1, 2, 3] } }));
  if (!types.includes('array')) options.push(fc.constant(['a', 1, null]));
  if (schema.enum) options.push(oddText.filter((s) => !schema.enum!.includes(s)));
  if (types.includes('integer')) options.push(fc.constantFrom(0.5, 1.000001, -0.25));
  if (schema.minimum !== undefined) options.push(fc.constantFrom(schema.minimum - 1, schema.minimum - 0.5, -1e9));
  if (schema.maximum !== undefined) options.push(fc.constantFrom(schema.maximum + 1, 1e21, Number.MAX_SAFE_INTEGER + 2));
  if (schema.maxLength !== undefined) options.push(fc.integer({ min: schema.maxLength + 1, max: schema.maxLength + 50 }).map((n) => 'y'.repeat(n)), hugeText);
  if (schema.minLength) options.push(fc.constantFrom('', ' '.repeat(schema.minLength), '\t\n'));
  if (schema.format === 'uuid' || schema.format === 'email' || schema.format === 'date-time') options.push(oddText);
  if (schema.maxItems !== undefined && schema.items) options.push(fc.array(validValue(schema.items), { minLength: schema.maxItems + 1, maxLength: schema.maxItems + 3 }));
  if (schema.minItems) options.push(fc.constant([]));
  return fc.oneof(...options);
}

/** Where to break an object: one field made invalid, a required one dropped, or fields added. */
export type Mutation =
  | { kind: 'invalid-field'; field: string; value: unknown }
  | { kind: 'missing-field'; field: string }
  | { kind: 'extra-fields'; fields: Record<string, unknown> }
  | { kind: 'not-an-object'; value: unknown };

export function mutation(schema: JsonSchema): fc.Arbitrary<Mutation> {
  const properties = Object.entries(schema.properties ?? {});
  const options: fc.Arbitrary<Mutation>[] = [
    fc.record({ kind: fc.constant('not-an-object' as const), value: fc.oneof(fc.constant(null), oddNumber, oddText, fc.array(anyJson, { maxLength: 3 })) }),
    fc.record({
      kind: fc.constant('extra-fields' as const),
      fields: fc.dictionary(fc.oneof(oddText, fc.constantFrom('__proto__', 'constructor', 'role', 'userId', 'status', 'admin', 'id')), anyJson, { minKeys: 1, maxKeys: 4 }),
    }),
  ];
  if (properties.length) {
    options.push(
      fc.constantFrom(...properties).chain(([field, property]) => invalidValue(property).map((value) => ({ kind: 'invalid-field' as const, field, value }))),
    );
  }
  if (schema.required?.length) options.push(fc.constantFrom(...schema.required).map((field) => ({ kind: 'missing-field' as const, field })));
  return fc.oneof(...options);
}

export function applyMutation(body: unknown, change: Mutation): unknown {
  if (change.kind === 'not-an-object') return change.value;
  const copy = { ...(body as Record<string, unknown>) };
  if (change.kind === 'invalid-field') copy[change.field] = change.value;
  if (change.kind === 'missing-field') delete copy[change.field];
  if (change.kind === 'extra-fields') {
    // defineProperty, so "__proto__" is a real key of the JSON text and not the prototype.
    for (const [name, value] of Object.entries(change.fields)) Object.defineProperty(copy, name, { value, enumerable: true, configurable: true, writable: true });
  }
  return copy;
}

/** Bodies that are not JSON at all, or not the JSON they seem. */
export const malformedJson = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    '{"a":',
    "{'a': 1}",
    '{"a": NaN}',
    '{"a": Infinity}',
    '{"a": undefined}',
    '[1, 2,]',
    '{"a": 1,}',
    // A byte-order mark is dropped by the Fetch standard's JSON decoding, so what follows it must be broken too.
    '\uFEFF{"a": 1,}',
    'null',
    'true',
    '"just a string"',
    '0',
    '{"a": "\\ud800"}',
    '{"__proto__": {"role": "admin"}}',
    '{"a": 1} {"b": 2}',
    '\u0000',
    '{"a": 1}garbage',
    '{"ticketIds": ["a"], "ticketIds": 5}',
  ),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.integer({ min: 1, max: 3000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
);

/** Content types a JSON endpoint must not take as JSON. */
export const wrongContentType = fc.constantFrom(
  undefined,
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/jsonx',
  'text/json',
  '',
);

export const jsonContentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'Application/JSON');
