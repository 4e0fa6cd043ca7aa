// Log-only: one line per request in the node's log (tagged with site and handler); changes nothing.
export function onRequest(event) {
  const { origin } = event.requestMeta;
  const country = origin.country ? origin.country.code : "-";
  console.log(`${event.request.method} ${event.request.url} country=${country} ua=${event.request.headers.get("user-agent") || "-"}`);
}
