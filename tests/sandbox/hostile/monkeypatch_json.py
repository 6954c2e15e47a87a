# expect: RE
# Breaks the kernel's own message serialisation: the judge must report a runtime error, never crash.
import json

json.dumps = lambda *a, **k: "{not json"
json.loads = lambda *a, **k: {"i": 0, "status": "ok", "value": 42}


def f(x):
    return 42
