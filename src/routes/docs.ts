/// <reference path="../openapi/swagger-ui-assets.d.ts" />
import { Hono } from 'hono';
import swaggerUiBundle from 'swagger-ui-dist/swagger-ui-bundle.js';
import swaggerUiCss from 'swagger-ui-dist/swagger-ui.css';
import type { AppEnv } from '../env';
import { notFound } from '../errors';
import { openApiDocument } from '../openapi/document';

// Built once per isolate: the document only changes with a deploy.
let document: string | undefined;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Box office API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
`;

// A file of its own rather than an inline script, so the page's CSP allows scripts from here only.
const INIT = `window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#swagger-ui', deepLinking: true, tryItOutEnabled: false });\n`;

// Swagger UI sets style attributes and shows images from data: URLs; nothing else leaves this origin.
const PAGE_POLICY = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ASSETS = new Map<string, { body: string; type: string }>([
  ['swagger-ui-bundle.js', { body: swaggerUiBundle, type: 'text/javascript; charset=utf-8' }],
  ['swagger-ui.css', { body: swaggerUiCss, type: 'text/css; charset=utf-8' }],
  ['init.js', { body: INIT, type: 'text/javascript; charset=utf-8' }],
]);

/** Mounted at /api: the OpenAPI document and a page that shows it. */
export const docsRoutes = new Hono<AppEnv>()
  .get('/openapi.json', (c) => {
    document ??= JSON.stringify(openApiDocument());
    c.header('Cache-Control', 'public, max-age=300');
    c.header('Content-Type', 'application/json; charset=utf-8');
    return c.body(document);
  })
  .get('/docs', (c) => {
    c.header('Content-Security-Policy', PAGE_POLICY);
    c.header('Cache-Control', 'public, max-age=300');
    return c.html(PAGE);
  })
  .get('/docs/:asset', (c) => {
    const asset = ASSETS.get(c.req.param('asset'));
    if (!asset) throw notFound('file');
    c.header('Content-Type', asset.type);
    c.header('Cache-Control', 'public, max-age=3600');
    c.header('X-Content-Type-Options', 'nosniff');
    return c.body(asset.body);
  });
