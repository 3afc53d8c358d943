"""The temporal head: per-frame features -> Bi-LSTM -> multi-head attention pooling -> class logits.

The backbone turns each sampled frame into a feature vector; this module turns the sequence of those vectors
into one video-level prediction and says, through its attention weights, which frames mattered.

    head = TemporalHead(TemporalConfig(feature_dim=1280))
    out = head(features, mask)          # features (B,T,D), mask (B,T) True where a frame exists
    out["logits"], out["attention"], out["embedding"]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class TemporalConfig:
    feature_dim: int = 1280  # size of one frame's backbone feature
    hidden: int = 128  # LSTM hidden size per direction
    lstm_layers: int = 1
    heads: int = 4  # attention-pooling heads
    dropout: float = 0.2
    n_classes: int = 4
    # how frame features are normalised before the LSTM: "layer" (LayerNorm of each frame, the original head) or
    # "batch" (per-dimension BatchNorm over the real frames of a training batch; running statistics at inference)
    input_norm: str = "layer"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TemporalConfig":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


class AttentionPool(nn.Module):
    """Multi-head self-attention pooling: each head scores every frame, softmax over time, weighted sum.

    A learned query per head attends over the frame sequence (keys and values are the frames themselves).
    The returned per-frame weight is the heads' mean, so it sums to 1 over the valid frames.
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        assert dim % heads == 0, "LSTM output size must be divisible by the number of heads"
        self.heads, self.head_dim = heads, dim // heads
        self.query = nn.Parameter(torch.randn(heads, self.head_dim) * self.head_dim**-0.5)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, T, C = x.shape
        k = self.key(x).view(B, T, self.heads, self.head_dim)
        v = self.value(x).view(B, T, self.heads, self.head_dim)
        scores = torch.einsum("bthd,hd->bht", k, self.query) * self.head_dim**-0.5
        scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        weights = F.softmax(scores, dim=-1)  # (B, heads, T)
        pooled = torch.einsum("bht,bthd->bhd", weights, v).reshape(B, C)
        return self.proj(pooled), weights.mean(dim=1)


class MaskedBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d over the feature dimension of (B,T,D) sequences; in training, statistics of real frames only."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        if not self.training:
            return super().forward(x.reshape(B * T, D)).reshape(B, T, D)
        out = torch.zeros_like(x)
        out[mask] = super().forward(x[mask])
        return out


class TemporalHead(nn.Module):
    """Bi-LSTM over the frame features, attention pooling, then a linear classifier."""

    def __init__(self, config: TemporalConfig):
        super().__init__()
        self.config = config
        c = config
        if c.input_norm not in ("layer", "batch"):
            raise ValueError(f"input_norm must be 'layer' or 'batch' (got {c.input_norm!r})")
        self.norm = nn.LayerNorm(c.feature_dim) if c.input_norm == "layer" else MaskedBatchNorm(c.feature_dim)
        self.drop = nn.Dropout(c.dropout)
        self.lstm = nn.LSTM(
            c.feature_dim,
            c.hidden,
            num_layers=c.lstm_layers,
            batch_first=True,
            bidirectional=True,
            dropout=c.dropout if c.lstm_layers > 1 else 0.0,
        )
        self.pool = AttentionPool(2 * c.hidden, c.heads)
        self.classifier = nn.Linear(2 * c.hidden, c.n_classes)

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """features (B,T,D), mask (B,T) bool (True = real frame) -> logits (B,C), attention (B,T), embedding (B,E)."""
        B, T, _ = features.shape
        if mask is None:
            mask = torch.ones(B, T, dtype=torch.bool, device=features.device)
        x = self.drop(self.norm(features) if self.config.input_norm == "layer" else self.norm(features, mask))
        x = x * mask[..., None]
        # Padding sits at the end of a sequence; packing keeps the backward LSTM from reading it first.
        lengths = mask.sum(dim=1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
        embedding, attention = self.pool(out, mask)
        logits = self.classifier(self.drop(embedding))
        return {"logits": logits, "attention": attention, "embedding": embedding}
