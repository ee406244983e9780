"""Model evaluation: metrics, slices, fairness, explanations and gates, as pure computation.

    from mloop.evaluation import evaluate_predictors

    result = evaluate_predictors(
        candidate, test_frame, "employed", task="classification", baseline=champion,
        slices=["AGEP"], sensitive=["SEX"],
        gates=["accuracy>=0.75", "roc_auc>=+0.01", "slice_regression<=0.05",
               "demographic_parity_difference<=0.1"],
    )
    result.passed, result.reasons, result.summary()
    json.dumps(result.to_dict())     # EvaluationResult.from_dict reads it back

Models are any object with the :class:`Predictor` members.
"""

from mloop.evaluation.evaluate import evaluate_predictors
from mloop.evaluation.fairness import FairnessMetrics, FairnessResult, GroupMetrics
from mloop.evaluation.gates import Gate, GateCheck, Gates, check
from mloop.evaluation.importance import (
    Contributions,
    FeatureImportance,
    Importance,
    contributions,
    permutation_importance,
)
from mloop.evaluation.metrics import DIRECTION, MAIN_METRIC, Metrics, compute_metrics
from mloop.evaluation.predictor import Predictions, Predictor
from mloop.evaluation.result import EvaluationResult
from mloop.evaluation.slices import MIN_ROWS, SliceResult

__all__ = [
    "DIRECTION",
    "MAIN_METRIC",
    "MIN_ROWS",
    "Contributions",
    "EvaluationResult",
    "FairnessMetrics",
    "FairnessResult",
    "FeatureImportance",
    "Gate",
    "GateCheck",
    "Gates",
    "GroupMetrics",
    "Importance",
    "Metrics",
    "Predictions",
    "Predictor",
    "SliceResult",
    "check",
    "compute_metrics",
    "contributions",
    "evaluate_predictors",
    "permutation_importance",
]
