// onResponse only: security headers on every response, whatever produced it.
export function onResponse(event) {
  const h = event.response.headers;
  h.set("x-content-type-options", "nosniff");
  h.set("x-frame-options", "DENY");
  h.set("referrer-policy", "strict-origin-when-cross-origin");
  h.set("permissions-policy", "geolocation=(), camera=()");
}
