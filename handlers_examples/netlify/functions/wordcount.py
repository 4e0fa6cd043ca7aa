"""A v1 (Lambda-style) Python function, run in edgenode's Python worker pool.

POST /.netlify/functions/wordcount with a text body -> word and line counts as JSON.
"""

import json
import platform
from collections import Counter


def handler(event, context):
    if event["httpMethod"] != "POST":
        return {"statusCode": 405, "headers": {"Allow": "POST"}, "body": "POST some text\n"}
    text = event["body"] or ""
    words = [w.strip(".,;:!?\"'()").lower() for w in text.split()]
    top = Counter(w for w in words if w).most_common(3)
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps({"words": len(words), "lines": text.count("\n") + 1 if text else 0,
                            "top": top, "runtime": f"Python {platform.python_version()}",
                            "function": context.function_name}),
    }
