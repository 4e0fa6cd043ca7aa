// Image resizing: /images/NAME?w=300&h=200&fit=cover is proxied to the image CDN with its own
// query syntax; the width is snapped to the CDN's allowed sizes.
import cdn from "./image-cdn.json" with { type: "json" };

const FITS = ["cover", "contain", "fill"];

export function cdnUrl(requestUrl) {
  const url = new URL(requestUrl);
  const name = url.pathname.replace(/^\/images\//, "");
  const w = Number(url.searchParams.get("w")) || 800;
  const width = cdn.widths.find((x) => x >= w) || cdn.widths[cdn.widths.length - 1];
  const params = new URLSearchParams({ width: String(width) });
  const h = Number(url.searchParams.get("h"));
  if (h > 0) params.set("height", String(Math.round((h * width) / w)));
  const fit = url.searchParams.get("fit");
  if (FITS.includes(fit)) params.set("fit", fit);
  params.set("format", (url.searchParams.get("format") || "auto").replace(/[^a-z]/g, ""));
  return `${cdn.base}/${name}?${params}`;
}

export function onRequest(event) {
  event.replaceRequest((request) => new Request(cdnUrl(request.url), { headers: { accept: request.headers.get("accept") || "image/*" } }));
}
