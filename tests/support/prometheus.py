"""Reading a service's Prometheus `/metrics` in tests: scrape, then compare samples."""
from __future__ import annotations

from typing import Dict, List, Tuple

import requests
from prometheus_client.parser import text_string_to_metric_families

# metric sample name -> [(labels, value), ...]
Samples = Dict[str, List[Tuple[Dict[str, str], float]]]


def scrape(base_url: str) -> Samples:
    response = requests.get(base_url + "/metrics", timeout=10)
    assert response.status_code == 200, response.text
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples called `name` whose labels include `labels`."""
    return sum(v for found, v in samples.get(name, []) if all(found.get(k) == want for k, want in labels.items()))


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)
