"""Errors of the YouTube-8M tools."""

from ..errors import VidtypeError


class Yt8mError(VidtypeError):
    """A YouTube-8M input (vocabulary, mapping, label file, manifest) cannot be used."""

    code = "yt8m_error"


class RecordError(Yt8mError):
    """A TFRecord file or a record inside it is truncated, corrupt or not in the expected format."""

    code = "yt8m_record_error"
