// Device-specific bundles: /app.js is served from /app.mobile.js or /app.desktop.js by User-Agent.
const MOBILE = /Mobile|Android|iPhone|iPad|iPod|Opera Mini|IEMobile/i;

export function onRequest(event) {
  const ua = event.request.headers.get("user-agent") || "";
  const device = MOBILE.test(ua) ? "mobile" : "desktop";
  event.replaceRequest((request) => new Request(request.url.replace(/\/app\.js(\?|$)/, `/app.${device}.js$1`), request));
}

export function onResponse(event) {
  event.response.headers.append("vary", "User-Agent");
}
