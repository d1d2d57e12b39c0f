// Starts Swagger UI on /docs. A file of its own, not an inline script, so that the page's
// Content-Security-Policy can allow scripts from this service only (script-src 'self').
// The document's URL is relative to the page's (/docs): behind a proxy's path prefix,
// /prefix/docs loads /prefix/openapi.json.
window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: "none",
});
