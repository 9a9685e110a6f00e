"""One compiled TensorFlow function per model, called directly (DIET and TED predictions).

Rasa 3.6 compiles a model's prediction step once, as a `tf.function` with an input signature
of unknown batch and sequence sizes, then calls that `tf.function` for every message. Each call
goes through TensorFlow's dispatch for polymorphic functions: it canonicalises the arguments,
builds their trace type, looks the concrete function up and casts every NumPy array to the
signature's dtype: about a third of DIET's time per message in the live profile
(docs/performance.md, "Issue 13 item 3"). The signature never changes, so there is exactly one
concrete function: it is looked up once and then called with the input tensors, the same
graph on the same inputs (the unit test compares the outputs). The inputs are made into
tensors by the function tf.convert_to_tensor ends in for NumPy arrays.

A model still being prepared, run eagerly or given a batch of another form than its signature
(never seen; it would be a new model) takes Rasa's own path.
"""
from __future__ import annotations

import functools
import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple

import tensorflow as tf
from keras.utils import tf_utils
from tensorflow.python.eager import context
from tensorflow.python.framework.constant_op import convert_to_eager_tensor
from rasa.shared.constants import DIAGNOSTIC_DATA
from rasa.utils.tensorflow.models import RasaModel

from bot.settings import speedup_on

logger = logging.getLogger(__name__)

_FAST_PATH = "_bank_concrete_predict"


class ConcretePredict:
    """The model's one concrete prediction function and the dtypes of its inputs."""

    def __init__(self, function: Any) -> None:
        self.function = function
        self.specs: List[tf.TensorSpec] = list(function.structured_input_signature[0][0])

    def accepts(self, batch_in: Sequence[Any]) -> bool:
        return len(batch_in) == len(self.specs) and all(
            spec.shape.is_compatible_with(getattr(array, "shape", ())) for array, spec in zip(batch_in, self.specs))

    def __call__(self, batch_in: Sequence[Any]) -> Dict[str, Any]:
        # What tf.convert_to_tensor ends in for a NumPy array (through tf.constant), without its
        # dispatch and conversion-registry layers (4 % of a worker's GIL time in the live profile).
        ctx = context.context()
        tensors = [convert_to_eager_tensor(array, ctx, spec.dtype) for array, spec in zip(batch_in, self.specs)]
        # _call_flat: the call the tf.function makes once it has found this function.
        return self.function._call_flat(tensors, self.function.captured_inputs)


def concrete_predict(model: RasaModel) -> Optional[ConcretePredict]:
    """The model's concrete prediction function, once Rasa has compiled its tf.function."""
    found: Optional[ConcretePredict] = model.__dict__.get(_FAST_PATH)
    if found is None and model._tf_predict_step is not None:
        found = ConcretePredict(model._tf_predict_step.get_concrete_function())
        model.__dict__[_FAST_PATH] = found
    return found


def install() -> None:
    """Wraps RasaModel._rasa_predict (DIET, TED and the other TensorFlow models of Rasa).
    RASA_SPEEDUPS_OFF=tf_calls leaves it out."""
    if getattr(RasaModel._rasa_predict, "_bank_fast", False) or not speedup_on("tf_calls"):
        return
    original = RasaModel._rasa_predict

    @functools.wraps(original)  # __wrapped__: stock Rasa's, for the equivalence test
    def _rasa_predict(self: RasaModel, batch_in: Tuple[Any, ...]) -> Dict[str, Any]:
        function = None if self._run_eagerly or not self.prepared_for_prediction else concrete_predict(self)
        if function is None or not function.accepts(batch_in):
            return original(self, batch_in)  # compiles on the first call; the next ones are direct
        outputs = tf_utils.sync_to_numpy_or_python_type(function(batch_in))
        if DIAGNOSTIC_DATA in outputs:
            outputs[DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(outputs[DIAGNOSTIC_DATA])
        return outputs

    _rasa_predict._bank_fast = True  # type: ignore[attr-defined]
    RasaModel._rasa_predict = _rasa_predict
