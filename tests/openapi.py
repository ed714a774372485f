"""Reading OpenAPI 3.0 documents in tests: flatten a schema into its fields, and turn a schema
into JSON Schema so real responses can be validated against our own document."""

import json
import re
from pathlib import Path

OPENAPI_DIR = Path(__file__).resolve().parent.parent / "openapi"
METHODS = ("get", "post", "put", "patch", "delete")
JSON_TYPES = ("application/json", "application/vnd.api+json")


def load(name: str) -> dict:
    return json.loads((OPENAPI_DIR / name).read_text())


class Document:
    def __init__(self, document: dict):
        self.doc = document

    def resolve(self, node: dict) -> dict:
        seen = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                return {}
            seen.add(ref)
            target = self.doc
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def operations(self) -> dict[tuple[str, str], dict]:
        """{(METHOD, path with {} for parameters): operation}."""
        found = {}
        for path, item in self.doc.get("paths", {}).items():
            key_path = re.sub(r"\{[^}]+\}", "{}", path)
            for method in METHODS:
                if method in item:
                    found[(method.upper(), key_path)] = item[method]
        return found

    def query_parameters(self, operation: dict) -> set[str]:
        names = set()
        for parameter in operation.get("parameters", []):
            parameter = self.resolve(parameter)
            if parameter.get("in") != "query":
                continue
            schema = self.resolve(parameter.get("schema", {}))
            if parameter.get("style") == "deepObject" and schema.get("properties"):
                names |= {f"{parameter['name']}[{name}]" for name in schema["properties"]}
            else:
                names.add(parameter["name"])
        return names

    def response_schema(self, operation: dict, status: str) -> dict | None:
        response = self.resolve(operation.get("responses", {}).get(status, {}))
        content = response.get("content") or {}
        for media_type in JSON_TYPES:
            if media_type in content:
                return content[media_type].get("schema")
        return None

    def request_schema(self, operation: dict) -> dict | None:
        body = self.resolve(operation.get("requestBody") or {})
        content = body.get("content") or {}
        return next((content[m].get("schema") for m in JSON_TYPES if m in content), None)

    def fields(self, schema, prefix: str = "", depth: int = 0) -> dict[str, tuple]:
        """{"data[].attributes.cohort": (json type, nullable, enum values or None)}."""
        out: dict[str, tuple] = {}
        schema = self.resolve(schema) if schema else None
        if not isinstance(schema, dict) or depth > 12:
            return out
        nullable = bool(schema.get("nullable"))
        for combinator in ("allOf", "oneOf", "anyOf"):
            for sub in schema.get(combinator, []):
                for name, (kind, sub_nullable, enum) in self.fields(sub, prefix, depth + 1).items():
                    if name == prefix:
                        sub_nullable = sub_nullable or nullable
                    out.setdefault(name, (kind, sub_nullable, enum))
        kind = schema.get("type") or ("object" if "properties" in schema else "array" if "items" in schema else None)
        enum = schema.get("enum")
        if prefix and kind:
            values = None if enum is None else frozenset(str(v) for v in enum if v is not None)
            out[prefix] = (kind, nullable, values)
        for name, sub in (schema.get("properties") or {}).items():
            out.update(self.fields(sub, f"{prefix}.{name}" if prefix else name, depth + 1))
        if "items" in schema:
            out.update(self.fields(schema["items"], f"{prefix}[]", depth + 1))
        return out

    def json_schema(self, schema) -> dict:
        """The OpenAPI 3.0 schema as JSON Schema: refs inlined, `nullable` turned into a null type."""
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return schema
        converted = {}
        for key, value in schema.items():
            if key in ("properties", "patternProperties"):
                converted[key] = {name: self.json_schema(sub) for name, sub in value.items()}
            elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
                converted[key] = self.json_schema(value)
            elif key in ("allOf", "oneOf", "anyOf"):
                converted[key] = [self.json_schema(sub) for sub in value]
            elif key in ("nullable", "example", "examples", "description", "x-spec-enum-id", "readOnly", "writeOnly"):
                continue
            else:
                converted[key] = value
        if schema.get("nullable"):
            if "type" in converted:
                converted["type"] = [converted["type"], "null"]
            if "enum" in converted and None not in converted["enum"]:
                converted["enum"] = [*converted["enum"], None]
            if "type" not in converted:
                converted = {"anyOf": [converted, {"type": "null"}]}
        return converted
