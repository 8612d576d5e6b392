// swagger-ui-dist's browser bundle and stylesheet, bundled into the Worker as text
// (wrangler.toml's [[rules]] of type "Text"), so the docs page needs no CDN.
declare module 'swagger-ui-dist/swagger-ui-bundle.js' {
  const source: string;
  export default source;
}
declare module 'swagger-ui-dist/swagger-ui.css' {
  const source: string;
  export default source;
}
