#!/usr/bin/env python3
"""Validate OCDS 1.1 release and record packages against the standard's own JSON Schema.

The schema files under schema/ are the Open Contracting Data Standard 1.1.5 schemas, copied
unchanged from github.com/open-contracting/standard (tag 1__1__5, Apache License 2.0, see
schema/LICENSE), so that the check runs without network access. The validator is the
`jsonschema` package from PyPI (draft 4, as the standard declares).

Usage: validate.py FILE...   (each a release package or a record package; exits 1 on any error)
"""
import json
import pathlib
import sys

from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

HERE = pathlib.Path(__file__).resolve().parent / "schema"
BASE = "https://standard.open-contracting.org/schema/1__1__5/"
NAMES = [
    "release-schema.json",
    "release-package-schema.json",
    "record-package-schema.json",
    "versioned-release-validation-schema.json",
]


def load_registry():
    schemas = {}
    registry = Registry()
    for name in NAMES:
        contents = json.loads((HERE / name).read_text(encoding="utf-8"))
        schemas[name] = contents
        registry = registry.with_resource(BASE + name, Resource(contents, specification=DRAFT4))
    return schemas, registry


def validate(path, schemas, registry):
    data = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    if "records" in data:
        schema = schemas["record-package-schema.json"]
        kind = "record package"
    elif "releases" in data:
        schema = schemas["release-package-schema.json"]
        kind = "release package"
    else:
        return [f"{path}: neither a release package nor a record package"]
    validator = Draft4Validator(schema, registry=registry, format_checker=FormatChecker())
    errors = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        errors.append(f"{path}: {kind} at {where}: {error.message}")
    count = len(data.get("records", data.get("releases", [])))
    if not errors:
        print(f"{path}: valid OCDS 1.1 {kind} ({count} entries)")
    return errors


def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    schemas, registry = load_registry()
    errors = []
    for path in paths:
        errors.extend(validate(path, schemas, registry))
    for line in errors[:200]:
        print(line, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
