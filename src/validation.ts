import type { Context } from 'hono';
import { z } from 'zod';
import { ApiError } from './errors';

function validationError(error: z.ZodError, where: string): ApiError {
  const details = error.issues.map((issue) => ({
    field: issue.path.length ? issue.path.join('.') : where,
    message: issue.message,
  }));
  return new ApiError(400, 'validation_failed', `The request ${where} is not valid: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`, details);
}

/** Parses the JSON body against `schema`; malformed JSON and wrong shapes are 400 `validation_failed`. */
export async function parseBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  // A form or a text/plain fetch from another site needs no CORS preflight; JSON does. (API.md's
  // codes have no 415: a wrong type is bad input, named in the details like any other.)
  if (!/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(c.req.header('Content-Type') ?? '')) {
    throw new ApiError(400, 'validation_failed', 'The request body must be JSON, sent with Content-Type: application/json.', [
      { field: 'Content-Type', message: 'must be application/json' },
    ]);
  }
  let body: unknown;
  try {
    const text = await c.req.text();
    body = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'validation_failed', 'The request body must be valid JSON.', [{ field: 'body', message: 'malformed JSON' }]);
  }
  const result = schema.safeParse(body);
  if (!result.success) throw validationError(result.error, 'body');
  return result.data;
}

export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  const result = schema.safeParse(c.req.query());
  if (!result.success) throw validationError(result.error, 'query');
  return result.data;
}

/**
 * A uuid in its one canonical spelling (lower case). Postgres compares uuids case-insensitively
 * but Durable Objects are named by text, so every id is mapped to this spelling at the edge,
 * before it can name an object (DESIGN.md, invariant 7).
 */
export const canonicalId = (message = 'must be an id') => z.uuid(message).transform((id) => id.toLowerCase());

/** Ids are opaque to clients; one that cannot exist is simply not found. */
export function parseId(value: string | undefined, what: string): string {
  const result = canonicalId().safeParse(value);
  if (!result.success) throw new ApiError(404, 'not_found', `That ${what} does not exist.`);
  return result.data;
}

/** Trimmed text with a length limit, the shape of most names in the API. */
export const text = (max: number) => z.string().trim().min(1).max(max);
