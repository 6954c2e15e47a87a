# expect: RE
# Breaks the kernel's own message serialisation: the judge must report a runtime error, never crash.
# (jupyter_client's Session packs with orjson when it is installed, else with json: both are broken here.)
import json

json.dumps = lambda *a, **k: "{not json"
json.loads = lambda *a, **k: {"i": 0, "status": "ok", "value": 42}
try:
    import orjson

    orjson.dumps = lambda *a, **k: b"{not json"
    orjson.loads = lambda *a, **k: {"i": 0, "status": "ok", "value": 42}
except ImportError:
    pass


def f(x):
    return 42
