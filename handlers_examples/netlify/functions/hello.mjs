// A v2 function (export default (Request, context) => Response), run by edgenode's Node.js workers.
// GET /.netlify/functions/hello?name=Ada
export default async (req, context) => {
  const url = new URL(req.url);
  const name = url.searchParams.get("name") || "visitor";
  const visits = Number(context.cookies.get("visits") || 0) + 1;
  context.cookies.set({ name: "visits", value: String(visits), path: "/", sameSite: "Lax" });
  return Response.json({
    greeting: `Hello, ${name}!`,
    visits,
    country: context.geo?.country?.code ?? null,
    requestId: context.requestId,
    runtime: `Node.js ${process.version}`,
  });
};
