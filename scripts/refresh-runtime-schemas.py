#!/usr/bin/env python3
"""Refreshes generator/src/emit_files/runtime_schemas/*.json from the compiled Petstore CRDs.

The generator predicts CRD YAML without compiling; the runtime's own types (controls, payload,
statuses, aggregate spec) are embedded as JSON taken from the compiled CRDs. Run this after changing
those runtime types, then `make regen`; every generated crate's tests/crds.rs checks the result.

Usage: scripts/refresh-runtime-schemas.py   (needs python3 with PyYAML; builds petstore-operator)
"""
import json
import pathlib
import subprocess
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "generator/src/emit_files/runtime_schemas"


def main():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["cargo", "run", "-q", "-p", "petstore-operator", "--bin", "petstore-crdgen", "--", "--out-dir", tmp],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
        )

        def schema(plural):
            doc = yaml.safe_load((pathlib.Path(tmp) / f"{plural}.petstore.example.com.yaml").read_text())
            return doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]

        def write(name, value):
            (OUT / f"{name}.json").write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")

        def pick(props, keys):
            return {k: props[k] for k in keys}

        pet = schema("pets")
        write("resource_controls", pick(pet["spec"]["properties"],
              ["target", "executionInterval", "readOnly", "paused", "onDelete", "ignoreFields", "mergeOnUpdate"]))
        write("resource_status", pet["status"])
        query = schema("petfindbystatusqueries")
        write("run_controls", pick(query["spec"]["properties"], ["target", "executionInterval", "paused"]))
        status = query["status"]
        del status["properties"]["results"]
        write("query_status", status)
        action = schema("petuploadimageactions")
        write("binary_payload", pick(action["spec"]["properties"],
              ["data", "dataFrom", "dataURL", "contentType", "filename"]))
        write("action_status", action["status"])
        aggregate = schema("petstoreaggregates")
        spec = aggregate["spec"]
        spec.pop("description", None)
        write("aggregate_spec", spec)
        write("aggregate_status", aggregate["status"])


if __name__ == "__main__":
    main()
