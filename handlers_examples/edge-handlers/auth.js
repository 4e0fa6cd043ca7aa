// Per-user authorization from the claims of the visitor's verified JWT (nf_jwt cookie or
// Authorization: Bearer): /members/* needs the "member" role, /members/admin* needs "admin".
export function onRequest(event) {
  const identity = event.requestMeta.identity;
  const path = event.request.url.replace(/^https?:\/\/[^/]+/, "").split("?")[0];
  const needed = path.startsWith("/members/admin") ? "admin" : "member";
  if (!identity) {
    event.replaceResponse(new Response("Please log in to see the members area.\n", {
      status: 401, headers: { "content-type": "text/plain; charset=utf-8", "www-authenticate": "Bearer" },
    }));
    return;
  }
  if (!identity.roles.includes(needed)) {
    event.replaceResponse(new Response(`Forbidden: the ${needed} role is required.\n`, {
      status: 403, headers: { "content-type": "text/plain; charset=utf-8" },
    }));
    return;
  }
  event.replaceRequest((request) => {
    const headers = new Headers(request.headers);
    headers.set("x-user-id", String(identity.id));
    return new Request(request, { headers });
  });
}

export function onResponse(event) {
  event.response.headers.set("cache-control", "private, no-store");
}
