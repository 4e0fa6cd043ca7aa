// Tiny cookie helpers shared by the example handlers (imported as an ES module).
export function getCookie(request, name) {
  const header = request.headers.get("cookie") || "";
  for (const part of header.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return null;
}

export function pick(values) {
  const n = crypto.getRandomValues(new Uint32Array(1))[0];
  return values[n % values.length];
}
