#!/usr/bin/env python3
"""Validates Kubernetes manifests offline, for Tests/VitalsTests/Deployment.

    validate_k8s.py [--kubernetes-version 1.33.0] FILE...

Built-in kinds are checked strictly (unknown fields are errors) against the
OpenAPI schemas bundled in the kubernetes-validate package (PyPI), which works
without network. The Prometheus Operator kinds (PodMonitor, PrometheusRule,
Probe, ScrapeConfig) are not in those schemas: they are checked against the subset of the
monitoring.coreos.com/v1 CRD schemas that vitals' manifests use, written out
below, also with unknown fields rejected.

Prints one line per document; exits 1 if any document is invalid.
"""

import argparse
import sys

import jsonschema
import kubernetes_validate
import yaml


def strict(properties, required=()):
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


STRING = {"type": "string"}
LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
DURATION = {"type": "string", "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}
METADATA = strict({"name": STRING, "namespace": STRING, "labels": LABELS, "annotations": LABELS}, ["name"])
LABEL_SELECTOR = strict({
    "matchLabels": LABELS,
    "matchExpressions": {"type": "array", "items": strict(
        {"key": STRING, "operator": STRING, "values": {"type": "array", "items": STRING}}, ["key", "operator"])},
})
RELABEL = strict({
    "action": {"type": "string", "enum": ["replace", "Replace", "keep", "Keep", "drop", "Drop", "hashmod", "HashMod",
                                          "labelmap", "LabelMap", "labeldrop", "LabelDrop", "labelkeep", "LabelKeep",
                                          "lowercase", "Lowercase", "uppercase", "Uppercase", "keepequal", "KeepEqual",
                                          "dropequal", "DropEqual"]},
    "modulus": {"type": "integer"},
    "regex": STRING,
    "replacement": STRING,
    "separator": STRING,
    "sourceLabels": {"type": "array", "items": {"type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$"}},
    "targetLabel": STRING,
})
POD_MONITOR = strict({
    "apiVersion": {"const": "monitoring.coreos.com/v1"},
    "kind": {"const": "PodMonitor"},
    "metadata": METADATA,
    "spec": strict({
        "jobLabel": STRING,
        "podTargetLabels": {"type": "array", "items": STRING},
        "selector": LABEL_SELECTOR,
        "namespaceSelector": strict({"any": {"type": "boolean"}, "matchNames": {"type": "array", "items": STRING}}),
        "sampleLimit": {"type": "integer"},
        "podMetricsEndpoints": {"type": "array", "minItems": 1, "items": strict({
            "port": STRING,
            "portNumber": {"type": "integer"},
            "path": STRING,
            "scheme": {"type": "string", "enum": ["http", "https"]},
            "interval": DURATION,
            "scrapeTimeout": DURATION,
            "honorLabels": {"type": "boolean"},
            "honorTimestamps": {"type": "boolean"},
            "params": {"type": "object"},
            "relabelings": {"type": "array", "items": RELABEL},
            "metricRelabelings": {"type": "array", "items": RELABEL},
            "enableHttp2": {"type": "boolean"},
            "followRedirects": {"type": "boolean"},
        })},
    }, ["selector"]),
}, ["apiVersion", "kind", "metadata", "spec"])
RULE = strict({
    "alert": STRING,
    "record": STRING,
    "expr": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    "for": DURATION,
    "keep_firing_for": DURATION,
    "labels": LABELS,
    "annotations": LABELS,
}, ["expr"])
PROMETHEUS_RULE = strict({
    "apiVersion": {"const": "monitoring.coreos.com/v1"},
    "kind": {"const": "PrometheusRule"},
    "metadata": METADATA,
    "spec": strict({"groups": {"type": "array", "items": strict({
        "name": STRING,
        "interval": DURATION,
        "limit": {"type": "integer"},
        "partial_response_strategy": STRING,
        "rules": {"type": "array", "items": RULE},
    }, ["name"])}}),
}, ["apiVersion", "kind", "metadata", "spec"])
PROBE = strict({
    "apiVersion": {"const": "monitoring.coreos.com/v1"},
    "kind": {"const": "Probe"},
    "metadata": METADATA,
    "spec": strict({
        "jobName": STRING,
        "interval": DURATION,
        "scrapeTimeout": DURATION,
        "module": STRING,
        "prober": strict({"url": STRING, "scheme": {"type": "string", "enum": ["http", "https"]}, "path": STRING, "proxyUrl": STRING}, ["url"]),
        "targets": strict({"staticConfig": strict({
            "static": {"type": "array", "items": STRING},
            "labels": LABELS,
            "relabelingConfigs": {"type": "array", "items": RELABEL},
        })}),
        "metricRelabelings": {"type": "array", "items": RELABEL},
        "sampleLimit": {"type": "integer"},
    }),
}, ["apiVersion", "kind", "metadata", "spec"])
SCRAPE_CONFIG = strict({
    "apiVersion": {"const": "monitoring.coreos.com/v1alpha1"},
    "kind": {"const": "ScrapeConfig"},
    "metadata": METADATA,
    "spec": strict({
        "jobName": STRING,
        "metricsPath": STRING,
        "scheme": {"type": "string", "enum": ["HTTP", "HTTPS"]},
        "scrapeInterval": DURATION,
        "scrapeTimeout": DURATION,
        "params": {"type": "object", "additionalProperties": {"type": "array", "items": STRING}},
        "staticConfigs": {"type": "array", "items": strict({"targets": {"type": "array", "items": STRING}, "labels": LABELS})},
        "relabelings": {"type": "array", "items": RELABEL},
        "metricRelabelings": {"type": "array", "items": RELABEL},
        "sampleLimit": {"type": "integer"},
    }),
}, ["apiVersion", "kind", "metadata", "spec"])
CUSTOM = {("monitoring.coreos.com/v1", "PodMonitor"): POD_MONITOR,
          ("monitoring.coreos.com/v1", "PrometheusRule"): PROMETHEUS_RULE,
          ("monitoring.coreos.com/v1", "Probe"): PROBE,
          ("monitoring.coreos.com/v1alpha1", "ScrapeConfig"): SCRAPE_CONFIG}


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubernetes-version", default="1.33.0")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv[1:])
    failed = False
    for path in args.files:
        with open(path, encoding="utf-8") as handle:
            documents = [d for d in yaml.safe_load_all(handle) if d is not None]
        for document in documents:
            key = (document.get("apiVersion"), document.get("kind"))
            name = "%s %s/%s" % (path, document.get("kind"), (document.get("metadata") or {}).get("name"))
            try:
                if key in CUSTOM:
                    jsonschema.validate(document, CUSTOM[key])
                else:
                    kubernetes_validate.validate(document, args.kubernetes_version, strict=True)
                print("OK %s" % name)
            except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as error:
                failed = True
                where = "/".join(str(p) for p in getattr(error, "path", []) or [])
                print("INVALID %s: %s %s" % (name, where, getattr(error, "message", error)))
            except kubernetes_validate.utils.SchemaNotFoundError as error:
                failed = True
                print("NO SCHEMA %s: %s" % (name, error))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
