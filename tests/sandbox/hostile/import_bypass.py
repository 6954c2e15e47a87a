# returns: contained
# Every classic way around the (teaching-only) import policy; whatever gets through is contained by the OS.
def f(x):
    mods = []
    mods.append(__import__("o" + "s"))
    il = getattr(__builtins__, "__import__", None) or __builtins__["__import__"]
    il = il("importlib")
    mods.append(il.import_module("sub" + "process"))
    for cls in ().__class__.__base__.__subclasses__():
        if cls.__name__ == "_wrap_close":
            mods.append(cls.__init__.__globals__["sys"].modules["os"])
            break
    os_ = mods[0]
    escaped = []
    try:
        open("/etc/shadow").read()
        escaped.append("shadow")
    except OSError:
        pass
    try:
        mods[1].run(["/bin/sh", "-c", "echo hi"], check=True)
        escaped.append("shell")
    except Exception:
        pass
    try:
        s = __import__("socket").create_connection(("127.0.0.1", 22), timeout=1)
        escaped.append("socket")
    except OSError:
        pass
    if os_.getuid() == 0:
        escaped.append("root")
    return "contained" if not escaped else f"escaped: {escaped}"
