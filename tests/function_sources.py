"""Function sources for the invoker tests: JavaScript (v1 and v2) and Python, well- and ill-behaved."""

FN = "netlify/functions/"

SOURCES: dict[str, str] = {
    # v1, CommonJS: echoes the event and the client context.
    FN + "echo.js": """
exports.handler = async (event, context) => ({
  statusCode: 200,
  headers: {"content-type": "application/json", "x-bool": true, "x-num": 7},
  body: JSON.stringify({event, clientContext: context.clientContext, name: context.functionName,
                        remaining: context.getRemainingTimeInMillis()}),
});
""",
    # v1, ESM named export in a .mjs file: binary body out, multi-value headers, status from the query.
    FN + "binary.mjs": """
export const handler = async (event) => ({
  statusCode: Number(event.queryStringParameters.status || 200),
  headers: {"content-type": "application/octet-stream", "location": event.queryStringParameters.to || "",
            "content-length": "999", "connection": "close"},
  multiValueHeaders: {"set-cookie": ["a=1; Path=/", "b=2; Path=/"]},
  body: Buffer.from(event.body || "", event.isBase64Encoded ? "base64" : "utf8").reverse().toString("base64"),
  isBase64Encoded: true,
});
""",
    # v1 callback style, in a directory with index.js.
    FN + "callback/index.js": """
exports.handler = function (event, context, callback) {
  setTimeout(() => callback(null, {statusCode: 200, body: "called back"}), 5);
};
""",
    # v1 invalid response: no statusCode.
    FN + "nostatus.js": "exports.handler = async () => ({body: 'hi'});\n",
    FN + "throws.js": "exports.handler = async () => { throw new RangeError('js boom'); };\n",
    FN + "spin.js": "exports.handler = async () => { for (;;) {} };\n",
    FN + "crash.js": "exports.handler = async () => { process.exit(3); };\n",
    # v2 in a .js file with ESM syntax (as Netlify's bundler accepts), directory NAME/NAME.js.
    FN + "modern/modern.js": """
export default async (req, context) => {
  const text = req.method === "POST" ? await req.text() : "";
  context.cookies.set({name: "seen", value: "yes", httpOnly: true});
  return Response.json({url: req.url, method: req.method, text, ip: context.ip,
                        country: context.geo.country && context.geo.country.code,
                        env: Netlify.env.get("GREETING"), requestId: context.requestId,
                        site: context.site.id, lang: req.headers.get("x-language")},
                       {status: 203, headers: {"x-api": "v2"}});
};
""",
    FN + "nothing.mjs": "export default async () => undefined;\n",
    FN + "cached.js": """
let n = 0;
exports.handler = async (event) => ({
  statusCode: 200,
  headers: {"cache-control": event.queryStringParameters.cc || "no-store"},
  body: String(++n),
});
""",
    FN + "work-background.js": """
const fs = require("node:fs");
exports.handler = async (event) => {
  await new Promise((r) => setTimeout(r, 300));
  fs.writeFileSync(event.queryStringParameters.out, "done:" + event.body);
};
""",
    FN + "typed.ts": "export default async () => new Response('ts')\n",
    FN + "bad.name.js": "exports.handler = async () => ({statusCode: 200})\n",
    # Python
    FN + "pyecho.py": """
import json


def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "multiValueHeaders": {"x-multi": ["1", "2"]},
            "body": json.dumps({"event": event, "clientContext": context.clientContext,
                                "name": context.function_name})}
""",
    FN + "pyasync.py": """
import asyncio


async def handler(event, context):
    await asyncio.sleep(0.01)
    return {"statusCode": 200, "body": b"\\x00\\x01bytes"}
""",
    FN + "pyerror.py": """
def handler(event, context):
    raise ValueError("py boom")
""",
    FN + "pysleep.py": """
import time


def handler(event, context):
    time.sleep(float(event["queryStringParameters"].get("s", "30")))
    return {"statusCode": 200, "body": "woke"}
""",
    FN + "pycrash.py": """
import os


def handler(event, context):
    os._exit(4)
""",
    FN + "py-background.py": """
import time


def handler(event, context):
    time.sleep(0.2)
    with open(event["queryStringParameters"]["out"], "w") as f:
        f.write("py done:" + (event["body"] or ""))
""",
    "netlify.toml": '[build]\npublish = "public"\n[build.environment]\nGREETING = "hallo"\n',
    "public/index.html": "<h1>home</h1>",
}

# FN-7: v2 functions with their own paths.
SOURCES[FN + "travel.mjs"] = """
export default async (req, context) => new Response(`to ${context.params.city} by ${req.method}`);
export const config = {path: ["/travel/:city", "/go/:city"], excludedPath: "/travel/nowhere", method: ["GET", "POST"]};
"""
SOURCES[FN + "home.mjs"] = """
export default async () => new Response("function home");
export const config = {path: "/", preferStatic: true};
"""
SOURCES[FN + "later.mjs"] = """
import {writeFileSync} from "node:fs";
export default async (req) => {
  await new Promise((r) => setTimeout(r, 200));
  writeFileSync(new URL(req.url).searchParams.get("out"), "v2 background");
};
export const config = {background: true};
"""
