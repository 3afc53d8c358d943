"""YouTube-8M as training data: curate videos by their labels, download them, or train on its features.

    vidtype yt8m curate --vocabulary vocabulary.csv --labels 'video/train*.tfrecord' --out manifest.csv
    vidtype yt8m download manifest.csv --out data/yt8m          # data/yt8m/<class>/<id>.mp4
    vidtype train --features 'yt8m:frame/train*.tfrecord' --vocabulary vocabulary.csv --out runs/yt8m
    vidtype yt8m predict 'frame/validate*.tfrecord' --model runs/yt8m --vocabulary vocabulary.csv

Modules: tfrecord (record framing, CRC32C), proto (Example / SequenceExample wire format), features
(dequantising, sampling seconds), vocabulary + mapping (entities -> classes), curate, download (yt-dlp),
training (the feature source for `vidtype.train.train`), predict.
"""

from .errors import RecordError, Yt8mError
from .mapping import LabelMap, load_rules
from .vocabulary import read_vocabulary

__all__ = ["LabelMap", "load_rules", "read_vocabulary", "RecordError", "Yt8mError", "Yt8mFeatures",
           "predict_records"]


def __getattr__(name: str):
    # training and predict pull in the training package: import them when used
    if name == "Yt8mFeatures":
        from .training import Yt8mFeatures

        return Yt8mFeatures
    if name == "predict_records":
        from .predict import predict_records

        return predict_records
    raise AttributeError(f"module 'vidtype.yt8m' has no attribute {name!r}")
