"""The trainer's side of the model manifest: every manifest it writes goes
through `write` (or `update`), which validates it against the one schema,
docs/model-manifest.schema.json, and writes it atomically."""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA_PATH = os.path.join(ROOT, "docs", "model-manifest.schema.json")
_schema = None


def schema():
    global _schema
    if _schema is None:
        with open(SCHEMA_PATH) as f:
            _schema = json.load(f)
    return _schema


SINGLE_NETWORK, ARBITRARY_STYLE = 1, 2  # the two forms of the model contract (docs/model-contract.md)


def contract_versions():
    """The contract forms the schema accepts (checked against the constants above by the tests)."""
    return schema()["properties"]["contract"]["enum"]


def validate(manifest, path="manifest"):
    """Raises ValueError naming the field at fault."""
    import jsonschema
    errors = sorted(jsonschema.Draft7Validator(schema()).iter_errors(manifest), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        where = ".".join(str(p) for p in e.path) or "(top level)"
        raise ValueError(f"{path}: {where}: {e.message}")
    stem = os.path.splitext(os.path.basename(path))[0]
    if path.endswith(".json") and manifest["id"] != stem:
        raise ValueError(f"{path}: id is {manifest['id']!r} but the file is named for {stem!r}")
    if manifest["file"] != f"{manifest['id']}.onnx":
        raise ValueError(f"{path}: file must be {manifest['id']}.onnx, found {manifest['file']!r}")
    encoder = manifest.get("arbitrary", {}).get("encoder")
    if encoder is not None and encoder != f"{manifest['id']}.style.onnx":
        raise ValueError(f"{path}: arbitrary.encoder must be {manifest['id']}.style.onnx, found {encoder!r}")


def write_json_atomic(obj, path):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def write(manifest, path):
    validate(manifest, path)
    write_json_atomic(manifest, path)


def update(path, **changes):
    """Loads a manifest, applies top-level changes (None removes a key), validates, writes."""
    with open(path) as f:
        manifest = json.load(f)
    for key, value in changes.items():
        if value is None:
            manifest.pop(key, None)
        else:
            manifest[key] = value
    write(manifest, path)
    return manifest
