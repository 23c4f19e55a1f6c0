"""Validates rendered Kubernetes objects offline, strictly (unknown fields are errors).

Built-in kinds are checked against the Kubernetes release's own schemas, bundled by
kubernetes-validate. Custom resources are checked against the openAPIV3Schema of their
CustomResourceDefinition, read from CRD files (Strimzi, KEDA, the Prometheus operator).

usage: validate_k8s.py KUBERNETES_VERSION CRD_DIR < rendered.yaml
Prints one JSON line per object ({"kind", "name", "ok", "schema", "error"}); exits 1 if any fails.
"""
import json
import pathlib
import sys

import jsonschema
import kubernetes_validate
import yaml


def strict(schema):
    """A copy of a CRD schema that rejects fields it does not declare, as the API server does."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    preserve = out.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def crd_schemas(crd_dir):
    schemas = {}
    for path in sorted(pathlib.Path(crd_dir).glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if schema and version.get("served", True):
                    schemas[(f"{group}/{version['name']}", kind)] = (strict(schema), path.name)
    return schemas


def main():
    kube_version, crd_dir = sys.argv[1], sys.argv[2]
    schemas = crd_schemas(crd_dir)
    failed = 0
    for doc in yaml.safe_load_all(sys.stdin.read()):
        if not doc:
            continue
        api, kind = doc.get("apiVersion", ""), doc.get("kind", "")
        name = (doc.get("metadata") or {}).get("name", "")
        result = {"kind": kind, "apiVersion": api, "name": name, "ok": True}
        try:
            if (api, kind) in schemas:
                schema, source = schemas[(api, kind)]
                result["schema"] = source
                jsonschema.Draft202012Validator(schema).validate(doc)
            else:
                result["schema"] = f"kubernetes {kubernetes_validate.validate(doc, kube_version, strict=True)}"
        except jsonschema.ValidationError as error:
            location = "/".join(str(part) for part in error.absolute_path)
            result.update(ok=False, error=f"{location or '(root)'}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            result.update(ok=False, error=error.message)
        failed += 0 if result["ok"] else 1
        print(json.dumps(result), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
