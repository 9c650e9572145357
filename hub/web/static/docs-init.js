// Starts Swagger UI on /docs; kept out of the page so its CSP can forbid inline scripts.
window.addEventListener("load", function () {
  window.ui = window.SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });
});
