"""Training corpora: one module per source, each writing a manifest the training pipeline reads."""
