"""The JSON Schemas of schemas/ (draft 2020-12), the single source of what each file kind holds,
and validation against them with messages that name the file and the JSON pointer:
``log.json: /epochs/2/test_loss: expected a number or null, got "abc"``, and for an unknown key
``exp.json: /optimzer: unknown key (did you mean "optimizer"?)``.

Two formats of our own (FORMATS), asserted here: "finite" for the numbers the tools compute
with, "double" for results that may be NaN; both refuse an integer no double holds (Python's
JSON reader takes integers of any length).

Uses python3-jsonschema (Debian, 4.10): ``Draft202012Validator`` and each error's
``absolute_path``, ``validator`` and ``validator_value``."""

import difflib
import functools
import json
import math
import os

import jsonschema

from mlpbench import REPO_ROOT
from mlpbench.files import ToolError

SCHEMA_DIR = os.path.join(REPO_ROOT, "schemas")
# File kind -> schema file in schemas/.
KINDS = {
    "experiment": "experiment.schema.json",
    "run-log": "run-log.schema.json",
    "benchmark-record": "benchmark-record.schema.json",
    "track-comparison": "track-comparison.schema.json",
    "weights-metadata": "weights-metadata.schema.json",
    "checkpoint-metadata": "checkpoint-metadata.schema.json",
    "machine": "machine.schema.json",
    "side-by-side-summary": "side-by-side-summary.schema.json",
    "epoch-ab-result": "epoch-ab-result.schema.json",
}
# Format -> what it asks for, in words.
FORMATS = {"finite": "a finite number", "double": "a number a double holds (NaN allowed)"}
_TYPE_WORDS = {"object": "an object", "array": "a list", "string": "a string",
               "number": "a number", "integer": "an integer", "boolean": "true or false",
               "null": "null"}


@functools.lru_cache(maxsize=None)
def schema(kind):
    """The parsed schema of a file kind (a key of KINDS)."""
    with open(os.path.join(SCHEMA_DIR, KINDS[kind]), encoding="utf-8") as f:
        return json.load(f)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_finite(value):
    """The format "finite": NaN, the infinities and integers beyond a double's range are not.
    A value of another type passes: the "type" keyword judges it."""
    try:
        return not _is_number(value) or math.isfinite(value)
    except OverflowError:  # an integer no double holds
        return False


def _fits_double(value):
    """The format "double": any number but an integer beyond a double's range."""
    if _is_number(value):
        try:
            float(value)
        except OverflowError:
            return False
    return True


def _format_checker():
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("finite")(_is_finite)
    checker.checks("double")(_fits_double)
    return checker


@functools.lru_cache(maxsize=None)
def validator(kind):
    """The validator of a file kind; a schema refers to another by its $id, never by URL."""
    store = {schema(k)["$id"]: schema(k) for k in KINDS}
    resolver = jsonschema.RefResolver.from_schema(schema(kind), store=store)
    return jsonschema.Draft202012Validator(schema(kind), resolver=resolver,
                                           format_checker=_format_checker())


def describe_value(value):
    """How a message shows a value: null, true, an object, a list, or its JSON (shortened)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def pointer(parts):
    """The JSON pointer (RFC 6901) of a path of keys and indices."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _expected(error):
    """What the failed keyword wanted, in words."""
    kind, want, got = error.validator, error.validator_value, error.instance
    if kind == "type":
        words = [_TYPE_WORDS.get(t, t) for t in ([want] if isinstance(want, str) else want)]
        return f"expected {' or '.join(words)}, got {describe_value(got)}"
    if kind in ("enum", "const"):
        choices = [json.dumps(c) for c in (want if kind == "enum" else [want])]
        listed = choices[0] if len(choices) == 1 else "one of " + ", ".join(choices)
        return f"expected {listed}, got {describe_value(got)}"
    bounds = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
    if kind in bounds:
        types = error.schema.get("type")
        integer = types == "integer" or (isinstance(types, list) and "integer" in types)
        bound = want if isinstance(want, int) else f"{want:g}"  # 1048576, not 1.04858e+06
        return f"expected {'an integer' if integer else 'a number'} {bounds[kind]} {bound}, " \
            f"got {describe_value(got)}"
    if kind == "format" and want in FORMATS:
        return f"expected {FORMATS[want]}, got {describe_value(got)}"
    if kind == "minLength" and want == 1:
        return f"expected a non-empty string, got {describe_value(got)}"
    if kind == "maxLength":
        return f"expected a string of at most {want} characters, got {len(got)}"
    if kind == "minItems":
        return f"expected at least {want} item{'s' * (want != 1)}, got {len(got)}"
    if kind == "maxItems":
        return f"expected at most {want} item{'s' * (want != 1)}, got {len(got)}"
    if kind == "pattern":
        return f"expected a string matching {want}, got {describe_value(got)}"
    return error.message


def _unknown_keys(error):
    """The keys additionalProperties refused, each with the closest known key."""
    known = list(error.schema.get("properties", {}))
    for key in sorted(set(error.instance) - set(known)):
        hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6) or \
            difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.6)
        yield key, hint[0] if hint else None


def _meant_alternative(error):
    """Of a failed oneOf/anyOf, the error of the one alternative the value was meant for: the
    only one whose type and discriminating constants (an optimizer's "name") it has; None when
    that is not clear."""
    alternatives = {}
    for e in error.context:
        alternatives.setdefault(e.relative_schema_path[0], []).append(e)
    depth = len(error.absolute_path)
    meant = [errs for errs in alternatives.values()
             if not any((e.validator == "type" and len(e.absolute_path) == depth) or
                        (e.validator in ("const", "enum") and len(e.absolute_path) <= depth + 1)
                        for e in errs)]
    if len(meant) != 1:
        return None
    return min(meant[0], key=lambda e: (len(e.absolute_path), e.validator == "type"))


def message(error):
    """'/json/pointer: what is wrong' for one jsonschema error."""
    where = list(error.absolute_path)
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return f"{pointer(where) or '/'}: missing key \"{missing[0]}\""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        key, hint = next(_unknown_keys(error))
        return f"{pointer(where + [key])}: unknown key" + \
            (f" (did you mean \"{hint}\"?)" if hint else "")
    if error.validator in ("oneOf", "anyOf") and error.context:
        inner = _meant_alternative(error)
        if inner is not None:
            return message(inner)
        if "description" in error.schema:  # the forms allowed, in words
            return f"{pointer(where) or '/'}: expected {error.schema['description']}, " \
                f"got {describe_value(error.instance)}"
    return f"{pointer(where) or '/'}: {_expected(error)}"


def first_error(kind, data):
    """The error a reader should see first (the shallowest, so a missing object is reported
    before what it would hold; deterministic among equals), or None if `data` is valid."""
    errors = list(validator(kind).iter_errors(data))
    if not errors:
        return None
    return min(errors, key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path],
                                      e.validator == "type"))


def check(kind, path, data):
    """`data` (parsed from `path`) against the schema of `kind`; a ToolError naming the file, the
    JSON pointer and what is wrong otherwise."""
    error = first_error(kind, data)
    if error is not None:
        raise ToolError(f"{path}: {message(error)}")
    return data
