"""The recorded corpus: short clips of real programs and packaged material, one module per source (base.py)."""
