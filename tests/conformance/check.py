#!/usr/bin/env python3
"""Check recorded KECS responses against the botocore ECS model (and CloudWatch Logs model).

Usage: check.py [--model PATH] [--logs-model PATH] [--require-ops Op1,Op2]
                [--require-logs-ops Op1,Op2] LOGFILE...

Each LOGFILE is JSON lines: {"operation": str|null, "status": int, "body": obj|null}, with
"service": "logs" on the responses of CloudWatch Logs operations.
Exit codes: 0 all lines pass; 1 some line failed or a --require-ops operation was
never seen with status 200; 2 no lines were checked (or usage error).
"""
import argparse
import collections
import gzip
import json
import sys
from pathlib import Path

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "model" / "ecs-2014-11-13.service-2.json.gz"
DEFAULT_LOGS_MODEL = Path(__file__).resolve().parents[2] / "model" / "logs-2014-03-28.service-2.json.gz"

# Error codes any operation may return: protocol-level and common service errors.
COMMON_ERRORS = {
    "UnknownOperationException", "SerializationException", "ValidationException",
    "InvalidParameterException", "ClientException", "ServerException",
    "AccessDeniedException", "UnsupportedFeatureException",
    "RequestEntityTooLargeException", "MissingAuthenticationTokenException",
    # AWS's common authentication errors (--auth sigv4).
    "IncompleteSignatureException", "UnrecognizedClientException", "InvalidSignatureException",
}


class Checker:
    def __init__(self, model):
        self.ops = model["operations"]
        self.shapes = model["shapes"]

    def value(self, shape_name, v, path, errs):
        """Validate v against shape_name; append (path, problem) tuples to errs."""
        s = self.shapes[shape_name]
        t = s["type"]
        if s.get("document"):
            return  # free-form JSON document
        if v is None:
            # AWS omits absent fields rather than sending null.
            errs.append((path, f"null value for {shape_name} (omit the field instead)"))
        elif t == "structure":
            if not isinstance(v, dict):
                errs.append((path, f"expected object ({shape_name}), got {type(v).__name__}"))
                return
            members = s.get("members", {})
            for req in s.get("required", []):
                if req not in v:  # a null value is reported below as a null
                    errs.append((f"{path}.{req}", f"missing required member of {shape_name}"))
            for k, sub in v.items():
                if k not in members:
                    errs.append((f"{path}.{k}", f"unknown field in {shape_name}"))
                else:
                    self.value(members[k]["shape"], sub, f"{path}.{k}", errs)
        elif t == "list":
            if not isinstance(v, list):
                errs.append((path, f"expected array ({shape_name}), got {type(v).__name__}"))
                return
            for i, item in enumerate(v):
                self.value(s["member"]["shape"], item, f"{path}[{i}]", errs)
        elif t == "map":
            if not isinstance(v, dict):
                errs.append((path, f"expected object map ({shape_name}), got {type(v).__name__}"))
                return
            for k, sub in v.items():
                self.value(s["key"]["shape"], k, f"{path}[{k!r}](key)", errs)
                self.value(s["value"]["shape"], sub, f"{path}[{k!r}]", errs)
        elif t in ("string", "blob"):  # blobs travel as base64 strings
            if not isinstance(v, str):
                errs.append((path, f"expected string ({shape_name}), got {type(v).__name__}"))
            elif "enum" in s and v not in s["enum"]:
                errs.append((path, f"{v!r} not in enum {shape_name} {s['enum']}"))
        elif t in ("integer", "long"):
            if not isinstance(v, int) or isinstance(v, bool):
                errs.append((path, f"expected integer ({shape_name}), got {type(v).__name__}"))
        elif t in ("double", "float", "timestamp"):  # timestamps are epoch seconds
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                errs.append((path, f"expected number ({shape_name}), got {type(v).__name__}"))
        elif t == "boolean":
            if not isinstance(v, bool):
                errs.append((path, f"expected boolean ({shape_name}), got {type(v).__name__}"))
        else:
            errs.append((path, f"checker does not know shape type {t!r}"))

    def error_body(self, op, status, body, errs):
        """Validate a non-200 response: {"__type": code, "message": str}."""
        if not isinstance(body, dict):
            errs.append(("$", f"error body must be an object, got {type(body).__name__}"))
            return
        extra = set(body) - {"__type", "message"}
        for k in sorted(extra):
            errs.append((f"$.{k}", "unexpected key in error body"))
        if not isinstance(body.get("message"), str):
            errs.append(("$.message", "missing or non-string message"))
        code = body.get("__type")
        if not isinstance(code, str):
            errs.append(("$.__type", "missing or non-string __type"))
            return
        if op is None:
            allowed = {"UnknownOperationException"}
        else:
            allowed = COMMON_ERRORS | {e["shape"] for e in self.ops[op].get("errors", [])}
        if code not in allowed:
            errs.append(("$.__type", f"error code {code!r} not declared for this operation"))
        # Expected HTTP status: model's httpStatusCode if any, else 500 for ServerException, else 4xx.
        declared = self.shapes.get(code, {}).get("error", {}).get("httpStatusCode")
        if declared is not None:
            if status != declared:
                errs.append(("$", f"status {status} but model says {code} is HTTP {declared}"))
        elif code == "ServerException":
            if status != 500:
                errs.append(("$", f"status {status} for ServerException, expected 500"))
        elif not (isinstance(status, int) and 400 <= status < 500):
            errs.append(("$", f"status {status} for {code}, expected 4xx"))

    def line(self, rec):
        """Validate one parsed log record; return (operation label, [(path, problem)])."""
        errs = []
        if not isinstance(rec, dict):
            return "?", [("$", "log line is not a JSON object")]
        op = rec.get("operation") or None  # null and "" both mean "unknown operation"
        status, body = rec.get("status"), rec.get("body")
        if op is not None and op not in self.ops:
            return op, [("$", "operation not in the service's model")]
        if not isinstance(status, int) or isinstance(status, bool):
            return op or "<unknown>", [("$", f"status {status!r} is not an integer")]
        if status == 200:
            if op is None:
                errs.append(("$", "status 200 for an unknown operation"))
            elif "output" not in self.ops[op]:
                if body not in (None, {}):
                    errs.append(("$", f"{op} has no output; the body must be empty"))
            else:
                out = self.ops[op]["output"]["shape"]
                if body is None and self.shapes[out].get("members"):
                    errs.append(("$", f"empty body; {out} has members (send {{}} at least)"))
                elif body is not None:
                    self.value(out, body, "$", errs)
        else:
            self.error_body(op, status, body, errs)
        return op or "<unknown>", errs


def reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def load(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return Checker(json.load(f))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("logs", nargs="+", metavar="LOGFILE")
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--logs-model", default=str(DEFAULT_LOGS_MODEL))
    ap.add_argument("--require-ops", default="", help="comma-separated operations that must return 200")
    ap.add_argument("--require-logs-ops", default="", help="the same, of CloudWatch Logs")
    args = ap.parse_args(argv)

    # Each service's checker, and the label its operations get in the report.
    checkers = {None: load(args.model), "logs": load(args.logs_model)}
    label = {None: "", "logs": "logs:"}
    required = []
    for service, ops in ((None, args.require_ops), ("logs", args.require_logs_ops)):
        names = [o.strip() for o in ops.split(",") if o.strip()]
        unknown = [o for o in names if o not in checkers[service].ops]
        if unknown:
            ap.error(f"--require-ops names unknown operations: {', '.join(unknown)}")
        required += [label[service] + o for o in names]

    seen = collections.Counter()        # op -> responses checked
    failed_by_op = collections.Counter()
    ok_200 = set()                      # ops seen with status 200 (valid or not)
    failures = []
    passed = failed = 0
    for log in args.logs:
        with open(log, encoding="utf-8") as f:
            for lineno, text in enumerate(f, 1):
                if not text.strip():
                    continue
                rec = None
                try:
                    rec = json.loads(text, parse_constant=reject_constant)
                    service = rec.get("service") if isinstance(rec, dict) else None
                    if service not in checkers:
                        raise ValueError(f"unknown service {service!r}")
                    checker = checkers[service]
                    op, errs = checker.line(rec)
                    op = label[service] + op
                except ValueError as e:
                    op, errs = "?", [("$", f"invalid JSON: {e}")]
                    checker = None
                seen[op] += 1
                if checker and rec.get("status") == 200 and op.split(":")[-1] in checker.ops:
                    ok_200.add(op)
                if errs:
                    failed += 1
                    failed_by_op[op] += 1
                    failures += [f"FAIL {log}:{lineno} {op} {p}: {msg}" for p, msg in errs]
                else:
                    passed += 1

    print("responses checked per operation:")
    for op in sorted(seen):
        print(f"  {op:45} {seen[op]:6}" + (f"  ({failed_by_op[op]} failed)" if failed_by_op[op] else ""))
    ecs_ops = checkers[None].ops
    never = sorted(set(ecs_ops) - set(seen))
    print(f"operations never seen ({len(never)}/{len(ecs_ops)}): {', '.join(never) or '-'}")
    for line in failures:
        print(line)
    missing = [o for o in required if o not in ok_200]
    for o in missing:
        print(f"MISSING {o}: required operation never returned status 200")
    print(f"{passed} passed, {failed} failed")

    if passed + failed == 0:
        return 2
    return 0 if failed == 0 and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
