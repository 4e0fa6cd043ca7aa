// Multivariate experiment component: the page carries every variant of a section; a streaming
// HTMLRewriter keeps only the visitor's (sticky through a cookie) and removes the others.
import { getCookie, pick } from "./lib/cookies.js";

const VARIANTS = ["control", "urgency", "social"];
const COOKIE = "mv_offer";

export function onRequest(event) {
  let variant = getCookie(event.request, COOKIE);
  const fresh = !VARIANTS.includes(variant);
  if (fresh) variant = pick(VARIANTS);
  event.replaceResponse(async () => {
    const page = await fetch(event.request);
    const out = new HTMLRewriter()
      .on("[data-variant]", {
        element(el) {
          if (el.getAttribute("data-variant") !== variant) el.remove();
        },
      })
      .transform(page);
    if (fresh) out.headers.append("set-cookie", `${COOKIE}=${variant}; Path=/; Max-Age=2592000; SameSite=Lax`);
    out.headers.set("cache-control", "private, no-store");
    return out;
  });
}
