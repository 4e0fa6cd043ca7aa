// Store locator: the store nearest to the visitor's geo location is written into the page while it
// streams, with HTMLRewriter.
import stores from "./stores.json" with { type: "json" };

const CENTROIDS = { DE: [51.2, 10.4], FR: [46.6, 2.2], US: [39.8, -98.6], JP: [36.2, 138.3], GB: [54.0, -2.0],
  ES: [40.4, -3.7], IT: [42.8, 12.6], NL: [52.1, 5.3], CA: [56.1, -106.3] };

function distance([lat1, lon1], [lat2, lon2]) {
  const rad = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * rad) / 2) ** 2 +
    Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 12742 * Math.asin(Math.sqrt(a));
}

export function nearestStore(origin) {
  let here = null;
  if (typeof origin.latitude === "number") here = [origin.latitude, origin.longitude];
  else if (origin.country && CENTROIDS[origin.country.code]) here = CENTROIDS[origin.country.code];
  if (!here) return null;
  return stores.reduce((best, s) => (distance(here, [s.lat, s.lon]) < distance(here, [best.lat, best.lon]) ? s : best));
}

export function onRequest(event) {
  const store = nearestStore(event.requestMeta.origin);
  if (!store) return; // no geo: the page keeps its full list
  event.replaceResponse(async () => {
    const page = await fetch(event.request);
    return new HTMLRewriter()
      .on("#nearest-store", { element(el) { el.setInnerContent(store.name); } })
      .transform(page);
  });
}
