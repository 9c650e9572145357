"""CLK encoding, bit-identical to clkhash for the schemas `schema.py` accepts, and faster.

clkhash builds each CLK with bitarray operations and Python-level field handling per
record. The construction itself is simple: per feature, the HKDF key clkhash derives,
the feature's n-gram tokens, and for each token `k` indices taken from
BLAKE2b(token, key, salt=str(i)) read as 16-bit integers modulo the filter length. Here
each token's bits are computed once as a Python integer mask (and each whole feature
value's, since names and dates repeat across a roster), so a record is a few dictionary
lookups and integer ORs. A property test holds the output to clkhash's own, byte for
byte, and the known-answer test pins clkhash itself.
"""

from __future__ import annotations

import os
import struct
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from hashlib import blake2b

from clkhash.key_derivation import generate_key_lists

from keys import check_secret_strength
from linkage_node.schema import LinkageSchema

_CACHE_LIMIT = 1 << 18
CHUNK_SIZE = 5_000


@dataclass(frozen=True)
class _Feature:
    key: bytes
    n: int
    positional: bool
    exact: bool
    per_token: int | None
    per_feature: int | None


class Encoder:
    """Encodes records (sequences of feature values in schema order) into CLK bytes."""

    def __init__(self, schema: LinkageSchema, secret: bytes) -> None:
        check_secret_strength(secret)
        s = schema.schema
        keys = generate_key_lists(
            secret,
            len(s.fields),
            key_size=s.kdf_key_size,
            salt=s.kdf_salt,
            info=s.kdf_info,
            kdf=s.kdf_type,
            hash_algo=s.kdf_hash,
        )
        self.bits = int(s.l)
        self._bytes = self.bits // 8
        self._features: list[_Feature | None] = []
        for feature, field_keys in zip(schema.document["features"], keys, strict=True):
            if feature.get("ignored"):
                self._features.append(None)
                continue
            hashing = feature["hashing"]
            comparison = hashing["comparison"]
            strategy = hashing["strategy"]
            self._features.append(
                _Feature(
                    key=field_keys[0],
                    n=int(comparison.get("n", 0)),
                    positional=bool(comparison.get("positional", False)),
                    exact=comparison["type"] == "exact",
                    per_token=strategy.get("bitsPerToken"),
                    per_feature=strategy.get("bitsPerFeature"),
                )
            )
        self._token_cache: dict[tuple[int, str, int], int] = {}
        self._value_cache: list[dict[str, int]] = [{} for _ in self._features]

    def _tokens(self, feature: _Feature, value: str) -> Sequence[str]:
        if feature.exact:
            return (value,)
        n = feature.n
        word = f"{' ' * (n - 1)}{value}{' ' * (n - 1)}" if n > 1 else value
        grams = [word[i : i + n] for i in range(len(word) - n + 1)]
        if feature.positional:
            return [f"{i + 1} {g}" for i, g in enumerate(grams)]
        return grams

    def _ks(self, feature: _Feature, count: int) -> Sequence[int]:
        if feature.per_token is not None:
            return [feature.per_token] * count
        total = feature.per_feature or 0
        k, residue = divmod(total, count)
        return [k + 1] * residue + [k] * (count - residue)

    def _token_mask(self, index: int, feature: _Feature, token: str, k: int) -> int:
        cache_key = (index, token, k)
        mask = self._token_cache.get(cache_key)
        if mask is None:
            data = token.encode("utf-8")
            shorts: list[int] = []
            for i in range((k + 31) // 32):
                shorts.extend(
                    struct.unpack(
                        "32H", blake2b(data, key=feature.key, salt=str(i).encode()).digest()
                    )
                )
            mask = 0
            top = self.bits - 1
            for short in shorts[:k]:
                mask |= 1 << (top - short % self.bits)
            if len(self._token_cache) >= _CACHE_LIMIT:
                self._token_cache.clear()
            self._token_cache[cache_key] = mask
        return mask

    def _value_mask(self, index: int, feature: _Feature, value: str) -> int:
        cache = self._value_cache[index]
        mask = cache.get(value)
        if mask is None:
            tokens = self._tokens(feature, value)
            mask = 0
            for token, k in zip(tokens, self._ks(feature, len(tokens)), strict=True):
                if k:
                    mask |= self._token_mask(index, feature, token, k)
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[value] = mask
        return mask

    def encode(self, values: Sequence[str]) -> bytes:
        """The CLK of one record, as clkhash's `bitarray.tobytes()` would give it."""
        clk = 0
        for index, (feature, value) in enumerate(zip(self._features, values, strict=True)):
            if feature is not None and value:
                clk |= self._value_mask(index, feature, value)
        return clk.to_bytes(self._bytes, "big")


# --- parallel encoding --------------------------------------------------------------

_worker: Encoder | None = None


def _init_worker(schema: LinkageSchema, secret: bytes) -> None:
    global _worker  # noqa: PLW0603  (one encoder per worker process)
    _worker = Encoder(schema, secret)


def _encode_chunk(chunk: list[Sequence[str]]) -> list[bytes]:
    if _worker is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("worker not initialised")
    return [_worker.encode(values) for values in chunk]


class EncoderPool:
    """Encoding on `workers` processes, started once and used for many batches (a
    streaming job encodes its roster chunk by chunk). One process encodes in place."""

    def __init__(self, schema: LinkageSchema, secret: bytes, workers: int | None = None) -> None:
        self._workers = workers or os.cpu_count() or 1
        self._encoder = Encoder(schema, secret)
        self._pool: ProcessPoolExecutor | None = None
        if self._workers > 1:
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers, initializer=_init_worker, initargs=(schema, secret)
            )

    def __enter__(self) -> EncoderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def encode(
        self, records: Sequence[Sequence[str]], progress: Callable[[int], None] | None = None
    ) -> list[bytes]:
        """CLKs of `records` in order; `progress(n)` after each chunk."""
        out: list[bytes] = []
        if self._pool is None or len(records) < 2 * CHUNK_SIZE:
            for start in range(0, len(records), CHUNK_SIZE):
                out.extend(self._encoder.encode(v) for v in records[start : start + CHUNK_SIZE])
                if progress:
                    progress(len(out))
            return out
        # At most two chunks per worker in flight: `records` may build its rows on
        # demand (the job's feature values), and Executor.map would build them all first.
        pending: deque[Future[list[bytes]]] = deque()
        for chunk in _chunks(records):
            pending.append(self._pool.submit(_encode_chunk, chunk))
            while len(pending) >= 2 * self._workers or (pending and pending[0].done()):
                out.extend(pending.popleft().result())
                if progress:
                    progress(len(out))
        while pending:
            out.extend(pending.popleft().result())
            if progress:
                progress(len(out))
        return out


def encode_all(
    schema: LinkageSchema,
    secret: bytes,
    records: Sequence[Sequence[str]],
    *,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[bytes]:
    """CLKs of `records` in order, on `workers` processes (default: every core)."""
    workers = workers or os.cpu_count() or 1
    if len(records) < 2 * CHUNK_SIZE:
        workers = 1  # not worth starting processes
    with EncoderPool(schema, secret, workers) as pool:
        return pool.encode(records, progress)


def _chunks(records: Sequence[Sequence[str]]) -> Iterator[list[Sequence[str]]]:
    for start in range(0, len(records), CHUNK_SIZE):
        yield list(records[start : start + CHUNK_SIZE])
