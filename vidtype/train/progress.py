"""tqdm progress bars that can be switched off (tests, non-interactive logs, ranks other than 0)."""

from __future__ import annotations


class NoBar:
    """Stands in for a tqdm bar when progress is off."""

    def update(self, n=1):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass


def progress_bar(total: int, desc: str, unit: str, enabled: bool = True, initial: int = 0):
    """A tqdm bar (stderr), or a silent stand-in when `enabled` is false or tqdm is missing."""
    if not enabled:
        return NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        return NoBar()
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True, leave=False)
