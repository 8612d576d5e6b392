import { describe, expect, it } from 'vitest';
import { app } from '../../src/worker';
import { operations } from '../../src/openapi/document';
import { searchQuery } from '../../src/routes/events';
import { api } from '../helpers';

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown>; 'x-planned'?: boolean; requestBody?: { content: Record<string, { schema: Record<string, unknown> }> } }>>;
  components: { schemas: Record<string, unknown> };
}

/** `/api/bookings/:eventId` and `/api/bookings/{id}` name the same route: compare without parameter names. */
const shape = (path: string) => path.replace(/:[A-Za-z0-9_]+(\{[^}]*\})?/g, '{}').replace(/\{[A-Za-z0-9_]+\}/g, '{}');

/**
 * What the Hono app really answers under /api: method and path of every handler (middleware is
 * registered as ALL). The web pages outside /api are HTML for people, tested in test/pages.
 */
function registeredRoutes(): string[] {
  const routes = app.routes
    .filter((route) => route.method !== 'ALL' && route.path.startsWith('/api/'))
    .map((route) => `${route.method} ${shape(route.path)}`);
  return [...new Set(routes)].sort();
}

async function fetchDocument(): Promise<OpenApi> {
  const response = await api('/api/openapi.json');
  expect(response.status).toBe(200);
  expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
  return response.json();
}

function documented(document: OpenApi, planned: boolean): string[] {
  return Object.entries(document.paths)
    .flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, operation]) => (operation['x-planned'] === true) === planned)
        .map(([method]) => `${method.toUpperCase()} ${shape(path)}`),
    )
    .sort();
}

/** Every `$ref` in the document points at something in it. */
function danglingRefs(document: unknown): string[] {
  const dangling: string[] = [];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') {
        const target = value.replace(/^#\//, '').split('/').reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], document);
        if (target === undefined) dangling.push(value);
      } else visit(value);
    }
  };
  visit(document);
  return dangling;
}

describe('GET /api/openapi.json', () => {
  it('describes exactly the routes the app registers, and marks the rest of API.md as planned', async () => {
    const document = await fetchDocument();
    const registered = registeredRoutes();
    expect(registered.length).toBeGreaterThan(20);
    expect(documented(document, false)).toEqual(registered);
    // A planned endpoint that gets built must lose its mark (and gain its schemas).
    for (const route of documented(document, true)) expect(registered).not.toContain(route);
  });

  it('is OpenAPI 3.1 with an answer for every operation and no dangling reference', async () => {
    const document = await fetchDocument();
    expect(document.openapi).toBe('3.1.0');
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        expect(Object.keys(operation.responses).length, `${method} ${path}`).toBeGreaterThan(0);
      }
    }
    expect(danglingRefs(document)).toEqual([]);
    expect(document.components.schemas.Error).toMatchObject({ type: 'object', required: ['error'] });
  });

  it('takes request bodies from the schemas the routes validate with', async () => {
    const document = await fetchDocument();
    const hold = document.paths['/api/bookings/{id}']!.post!.requestBody!.content['application/json']!.schema as {
      oneOf: Array<{ required: string[] }>;
      properties: {
        ticketIds: { minItems: number; maxItems: number };
        seats: { minItems: number; maxItems: number };
        best: { properties: Record<string, unknown>; required: string[] };
      };
    };
    // Tickets by id, by seat index, or the best available: exactly one of the three.
    expect(hold.oneOf).toEqual([{ required: ['ticketIds'] }, { required: ['seats'] }, { required: ['best'] }]);
    expect(hold.properties.best.required).toEqual(['quantity']);
    expect(hold.properties.best.properties).toMatchObject({
      quantity: { type: 'integer', minimum: 1, maximum: 10 },
      section: { type: 'string', minLength: 1 },
      maxPriceCents: { type: 'integer', minimum: 0 },
    });
    expect(hold.properties.ticketIds).toMatchObject({ minItems: 1, maxItems: 10 });
    expect(hold.properties.seats).toMatchObject({ minItems: 1, maxItems: 10, items: { type: 'integer', minimum: 0 } });
    const signup = document.paths['/api/auth/signup']!.post!.requestBody!.content['application/json']!.schema as {
      properties: { password: { minLength: number; maxLength: number } };
    };
    expect(signup.properties.password).toMatchObject({ minLength: 8, maxLength: 200 });
    const search = (document.paths['/api/events/search']!.get as unknown as { parameters: Array<{ name: string; in: string }> }).parameters;
    expect(search.filter((p) => p.in === 'query').map((p) => p.name).sort()).toEqual(Object.keys(searchQuery.shape).sort());
  });

  it('has one operation per method and path', () => {
    const keys = operations.map((op) => `${op.method} ${shape(op.path)}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('GET /api/docs', () => {
  it('serves Swagger UI from the Worker itself: page, script and stylesheet, no other origin', async () => {
    const page = await api('/api/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(page.headers.get('Content-Security-Policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets.sort()).toEqual(['/api/docs/init.js', '/api/docs/swagger-ui-bundle.js', '/api/docs/swagger-ui.css']);

    const bundle = await api('/api/docs/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('Content-Type')).toMatch(/^text\/javascript/);
    expect(await bundle.text()).toContain('SwaggerUIBundle');
    const css = await api('/api/docs/swagger-ui.css');
    expect(css.headers.get('Content-Type')).toMatch(/^text\/css/);
    expect(await css.text()).toContain('.swagger-ui');
    expect(await (await api('/api/docs/init.js')).text()).toContain("url: '/api/openapi.json'");
  });

  it('answers other file names, prototype names included, 404 in the error shape', async () => {
    for (const name of ['nope.js', 'constructor', '__proto__', 'toString', 'swagger-ui.css.map']) {
      const response = await api(`/api/docs/${name}`);
      expect(response.status, name).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });
});
