"""Model packages: log a model with its signature and environment, load it anywhere.

    import mloop

    with mloop.start_run():
        model.fit(X_train, y_train)
        info = mloop.models.log(model, input_example=X_train.head())

    model = mloop.models.load(info.uri)       # runs:/<run>/model, a digest or a folder
    model.predict(frame)                      # checked against the signature first

Flavors (``flavors.names()``): ``lightgbm``, ``sklearn`` (saved with skops),
``python`` (any object with ``predict``, pickled).
"""

from mloop.models import flavors
from mloop.models.columns import TYPES, ColumnSpec
from mloop.models.dockerfile import write_context
from mloop.models.flavors import ModelContext
from mloop.models.load import LoadedModel, load
from mloop.models.log import ModelInfo, log, log_model
from mloop.models.signature import Signature, infer_signature
from mloop.models.uris import resolve_package

__all__ = [
    "TYPES",
    "ColumnSpec",
    "LoadedModel",
    "ModelContext",
    "ModelInfo",
    "Signature",
    "flavors",
    "infer_signature",
    "load",
    "log",
    "log_model",
    "resolve_package",
    "write_context",
]
