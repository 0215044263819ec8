# This file's source is sent as the first grading cell into the student's kernel. It
# defines how probe results leave the kernel: as JSON-able plain data, published as one
# display_data message of a private MIME type. Student code can replace or break any of
# it; that only changes what that student's own answers look like, never a score
# (scores are computed by the checker, outside the kernel, from the data alone).


def __ngd_grading_setup__():
    import json
    import math
    import sys

    from IPython.display import publish_display_data

    mime = "application/x-ngd-answer+json"
    budget = [2_000_000]  # numbers per probe

    def encode(value, depth=0):
        if depth > 20:
            return {"__opaque__": "nested too deeply"}
        if value is None or isinstance(value, bool) and type(value) is bool:
            return value
        if type(value) is int:
            return value if abs(value) < 2**63 else {"__opaque__": "int too large"}
        if type(value) is float:
            return encode_float(value)
        if type(value) is str:
            return value if len(value) <= 10_000 else {"__opaque__": "str too long"}
        np = sys.modules.get("numpy")
        if np is not None:
            if type(value) is np.ndarray:
                if value.dtype.kind not in "biuf":
                    return {"__opaque__": f"ndarray of dtype {value.dtype}"}
                if value.size > budget[0]:
                    return {"__opaque__": "array too large"}
                budget[0] -= value.size
                flat = [encode_float(float(v)) for v in value.ravel().tolist()]
                return {
                    "__ndarray__": flat,
                    "shape": list(value.shape),
                    "kind": value.dtype.kind,
                }
            if type(value) in (np.float64, np.float32, np.float16):
                return {"__npfloat__": encode_float(float(value))}
            if type(value) in (
                np.int64,
                np.int32,
                np.int16,
                np.int8,
                np.uint64,
                np.uint32,
                np.uint16,
                np.uint8,
            ):
                return {"__npint__": int(value)}
            if type(value) is np.bool_:
                return {"__npbool__": bool(value)}
        if type(value) in (list, tuple):
            if len(value) > budget[0]:
                return {"__opaque__": "sequence too long"}
            budget[0] -= len(value)
            items = [encode(v, depth + 1) for v in value]
            return items if type(value) is list else {"__tuple__": items}
        if type(value) is dict:
            if not all(type(k) is str for k in value) or len(value) > 10_000:
                return {"__opaque__": "dict with non-str keys"}
            return {"__dict__": {k: encode(v, depth + 1) for k, v in value.items()}}
        sp = sys.modules.get("sympy")
        if sp is not None and isinstance(value, sp.Basic):
            text = sp.srepr(value)
            if len(text) > 200_000:
                return {"__opaque__": "sympy expression too large"}
            return {"__sympy__": text}
        return {"__opaque__": f"{type(value).__module__}.{type(value).__qualname__}"}

    def encode_float(x):
        if math.isfinite(x):
            return x
        return {"__float__": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}

    def emit(test, probe, names):
        budget[0] = 2_000_000
        env = globals()
        kwargs = {name: env.get(name) for name in names}
        try:
            value = probe(**kwargs)
            payload = {"test": test, "ok": True, "value": encode(value)}
        except Exception as error:  # the answer raised: this test scores 0
            payload = {"test": test, "ok": False, "error": type(error).__name__}
        publish_display_data({mime: json.dumps(payload, allow_nan=False)})

    def silence_otter():
        # grader.check / check_all / export are feedback for students: skip them.
        try:
            import otter
        except ImportError:
            return

        def nothing(self, *args, **kwargs):
            return None

        for name in (
            "__init__",
            "check",
            "check_all",
            "export",
            "to_pdf",
            "run_plugin",
            "submit",
        ):
            if hasattr(otter.Notebook, name):
                setattr(otter.Notebook, name, nothing)

    silence_otter()
    return emit


__ngd_emit__ = __ngd_grading_setup__()
del __ngd_grading_setup__
