"""Quality gates for the assistant's content (issue: the assistant).

- `rasa data validate --fail-on-warnings` is clean;
- every intent has >= 25 training examples;
- the held-out test set (tests/nlu/test_data.yml) has >= 8 examples per intent, none seen
  in training; on it, intent accuracy >= 0.93 and macro F1 >= 0.90 (report in results/nlu/);
- the test stories (>= 30 conversations, every intent) pass with --fail-on-prediction-errors.
"""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest
import yaml

from bot import model_cache
from bot.nlu.normalizer import default_normalizer
from bot.settings import PROJECT_ROOT

TEST_SET = PROJECT_ROOT / "tests" / "nlu" / "test_data.yml"
TEST_STORIES = PROJECT_ROOT / "tests" / "test_stories.yml"
RESULTS = PROJECT_ROOT / "results"
# Intents no customer types: Rasa's built-ins and those our code triggers (bot/intents.py).
from bot.intents import PROGRAMMATIC_INTENTS  # noqa: E402
MIN_TRAIN_EXAMPLES = 25
MIN_TEST_EXAMPLES = 8
MIN_ACCURACY = 0.93
MIN_MACRO_F1 = 0.90


def run_rasa(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rasa", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=timeout)


def customer_intents(domain):
    return [intent for intent in domain.intents if intent not in PROGRAMMATIC_INTENTS]


@pytest.fixture(scope="module")
def training_data():
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(PROJECT_ROOT / "domain.yml"),
        training_data_paths=[str(PROJECT_ROOT / d) for d in model_cache.TRAINING_DATA])
    return importer.get_nlu_data(), importer.get_domain()


@pytest.fixture(scope="module")
def test_data():
    from rasa.shared.nlu.training_data.loading import load_data

    return load_data(str(TEST_SET))


def test_rasa_data_validate_is_clean():
    result = run_rasa("data", "validate", "--domain", "domain.yml", "--data", *model_cache.TRAINING_DATA,
                      "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_every_intent_has_enough_training_examples(training_data):
    nlu, domain = training_data
    counts = Counter(m.get("intent") for m in nlu.intent_examples)
    too_few = {intent: counts.get(intent, 0) for intent in customer_intents(domain)
               if counts.get(intent, 0) < MIN_TRAIN_EXAMPLES}
    assert not too_few, f"intents under {MIN_TRAIN_EXAMPLES} examples: {too_few}"


def test_the_held_out_set_covers_every_intent_and_is_unseen(training_data, test_data):
    nlu, domain = training_data
    normalize = default_normalizer()
    counts = Counter(m.get("intent") for m in test_data.intent_examples)
    too_few = {i: counts.get(i, 0) for i in customer_intents(domain) if counts.get(i, 0) < MIN_TEST_EXAMPLES}
    assert not too_few, f"test-set intents under {MIN_TEST_EXAMPLES} examples: {too_few}"
    seen = {normalize(m.get("text")) for m in nlu.intent_examples}
    leaked = [m.get("text") for m in test_data.intent_examples if normalize(m.get("text")) in seen]
    assert not leaked, f"test examples that also appear in training data: {leaked[:10]}"


def test_intent_accuracy_and_macro_f1_on_the_held_out_set():
    model = model_cache.model_path()
    out = RESULTS / "nlu"
    result = run_rasa("test", "nlu", "--nlu", str(TEST_SET), "--model", str(model), "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "intent_report.json").read_text())
    accuracy, macro_f1 = report["accuracy"], report["macro avg"]["f1-score"]
    weakest = sorted((v["f1-score"], k) for k, v in report.items() if isinstance(v, dict) and "support" in v
                     and k not in ("macro avg", "weighted avg", "micro avg"))[:5]
    print(f"\nheld-out NLU: accuracy={accuracy:.3f} macro_f1={macro_f1:.3f} weakest={weakest}")
    assert accuracy >= MIN_ACCURACY, f"accuracy {accuracy:.3f} < {MIN_ACCURACY}; weakest: {weakest}"
    assert macro_f1 >= MIN_MACRO_F1, f"macro F1 {macro_f1:.3f} < {MIN_MACRO_F1}; weakest: {weakest}"


def test_test_stories_cover_every_intent(training_data):
    _, domain = training_data
    stories = yaml.safe_load(TEST_STORIES.read_text(encoding="utf-8"))["stories"]
    assert len(stories) >= 30
    used = {step["intent"] for story in stories for step in story["steps"] if "intent" in step}
    missing = set(customer_intents(domain)) - used
    assert not missing, f"intents without a test story: {sorted(missing)}"


@pytest.mark.stack
def test_test_stories_pass(stack, tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f"action_endpoint:\n  url: {stack.url('actions')}/webhook\n")
    out = RESULTS / "core"
    result = run_rasa("test", "core", "--stories", str(TEST_STORIES), "--model", str(model_cache.model_path()),
                      "--endpoints", str(endpoints), "--out", str(out), "--fail-on-prediction-errors")
    failed = out / "failed_test_stories.yml"
    detail = failed.read_text()[-4000:] if failed.exists() else result.stdout[-3000:]
    assert result.returncode == 0, detail
