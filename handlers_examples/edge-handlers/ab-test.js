// A/B(/C) test: a random bucket kept in a cookie; /pricing is served from /pricing-a|b|c.
import { getCookie, pick } from "./lib/cookies.js";

const BUCKETS = ["a", "b", "c"];
const COOKIE = "ab_pricing";

export function onRequest(event) {
  let bucket = getCookie(event.request, COOKIE);
  const fresh = !BUCKETS.includes(bucket);
  if (fresh) bucket = pick(BUCKETS);
  event.replaceRequest((request) => {
    const headers = new Headers(request.headers);
    if (fresh) headers.set("x-ab-new-bucket", bucket); // read back by onResponse below
    return new Request(request.url.replace(/\/pricing\/?(\?|$)/, `/pricing-${bucket}$1`), { headers });
  });
}

// event.request is the request as it went to the origin: it tells whether the bucket is new.
export function onResponse(event) {
  const bucket = event.request.headers.get("x-ab-new-bucket");
  if (bucket) {
    event.response.headers.append("set-cookie", `${COOKIE}=${bucket}; Path=/; Max-Age=2592000; SameSite=Lax`);
  }
  event.response.headers.set("cache-control", "private, no-store");
}
