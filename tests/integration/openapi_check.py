"""Validates real responses against the OpenAPI document the server serves."""
import json

import jsonschema


class OpenApi:
    def __init__(self, doc):
        self.doc = doc

    def operation(self, method, template):
        path = self.doc["paths"].get(template)
        assert path is not None, f"{template} missing from openapi.json"
        op = path.get(method.lower())
        assert op is not None, f"{method} {template} missing from openapi.json"
        return op

    def validate(self, method, template, status, content_type, body):
        op = self.operation(method, template)
        responses = op["responses"]
        spec = responses.get(str(status)) or responses.get("default")
        assert spec is not None, f"{method} {template}: status {status} not documented"
        media = content_type.split(";")[0].strip()
        content = spec.get("content", {})
        assert media in content, f"{method} {template} {status}: {media} not documented"
        schema = content[media]["schema"]
        if media == "application/json":
            instance = json.loads(body)
            # Resolve #/components/... references against the whole document.
            wrapper = dict(schema)
            wrapper["components"] = self.doc["components"]
            jsonschema.Draft202012Validator(wrapper).validate(instance)
            return instance
        return body
