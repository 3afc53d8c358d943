"""Errors vidtype raises on purpose. Each has a stable `code` that the CLI, server and batch report."""


class VidtypeError(Exception):
    """Base class: a clear, expected failure (bad input, missing model), never a bug."""

    code = "vidtype_error"


class DecodeError(VidtypeError):
    """The file cannot be read as a video."""

    code = "decode_error"


class NotAVideoError(DecodeError):
    """The file is empty, not a media file, or holds no video stream (audio-only)."""

    code = "not_a_video"


class DecodeTimeoutError(DecodeError):
    """Decoding took longer than the allowed time."""

    code = "decode_timeout"


class VideoTooLargeError(DecodeError):
    """The video exceeds a configured limit (resolution, duration)."""

    code = "video_too_large"


class ModelNotFoundError(VidtypeError):
    """No model directory where one was asked for (or no default model shipped)."""

    code = "model_not_found"


class WeightsNotFoundError(VidtypeError):
    """A backbone's pretrained weights are not installed or not given."""

    code = "weights_missing"


class UnknownBackboneError(VidtypeError, ValueError):
    """A model or command names a backbone that is not registered."""

    code = "unknown_backbone"
