"""Translates infra/template.yaml (AWS SAM) to plain CloudFormation JSON, offline.

Usage: translate.py TEMPLATE OUT.json
"""

import json
import sys

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The template names no managed policies by name, so nothing needs looking up."""

    def load(self):
        return {}


def main() -> None:
    src, out = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # `sam package` replaces local code paths with S3 locations before CloudFormation sees
    # the template; do the same with a placeholder so the translator accepts it.
    for name, res in template.get("Resources", {}).items():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::Serverless::Function" and not str(props.get("CodeUri", "")).startswith("s3://"):
            props["CodeUri"] = f"s3://sapk-artifacts-placeholder/{name}.zip"
    try:
        # The fourth argument is a feature toggle, not a parser: without one the translator
        # uses its defaults (deployment preferences need it).
        # Metadata passes through to the functions: checkov reads its inline suppressions.
        translated = transform(template, {}, NoManagedPolicies(), None, True)
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(f"error: {cause.message}", file=sys.stderr)
        sys.exit(1)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(translated, f, indent=2, sort_keys=True)
    print(f"translated {src} -> {out}: {len(translated.get('Resources', {}))} resources")


if __name__ == "__main__":
    main()
