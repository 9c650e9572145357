"""Errors raised by `keys`: one base class, each carrying advice a person can act on."""

from __future__ import annotations


class KeysError(Exception):
    """Base for everything the key library refuses or detects."""

    #: Process exit status the CLI uses: 1 failure, 2 a file named on the command line is
    #: missing or unreadable, 3 invalid input data.
    exit_code = 1

    def advice(self) -> str:
        """What the person who sees this should do next."""
        return str(self)


class KeyFileError(KeysError):
    """A key file is missing, unreadable, too widely readable, or locked."""

    def __init__(self, path: str, what: str, fix: str, *, exit_code: int = 1) -> None:
        super().__init__(f"key file {path}: {what}")
        self.path = path
        self.fix = fix
        self.exit_code = exit_code  # 2 where a file named on the command line is missing

    def advice(self) -> str:
        return f"{self}. {self.fix}"


class WeakSecret(KeysError):
    """A linkage secret (or other key material) is shorter than the minimum."""

    exit_code = 3

    def __init__(self, bits: int, minimum: int) -> None:
        super().__init__(f"secret has {bits} bits; at least {minimum} are required")
        self.bits = bits
        self.minimum = minimum

    def advice(self) -> str:
        return (
            f"{self}. Create a fresh one with `pprl keys new-linkage-secret`, which makes "
            "256 random bits; never type or derive a secret from a password."
        )


class MalformedDocument(KeysError):
    """A key, registry or sealed-secret document does not have the expected shape."""

    exit_code = 3

    def __init__(self, what: str, where: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where = where

    def advice(self) -> str:
        return (
            f"{self}. The file was not written by this tool or was edited or damaged; "
            "ask its author for a fresh copy."
        )


class RegistryError(KeysError):
    """The key registry refuses a change or a lookup (unknown agency, unknown or revoked key)."""

    def __init__(self, what: str, fix: str = "") -> None:
        super().__init__(what)
        self.fix = fix

    def advice(self) -> str:
        return f"{self}. {self.fix}" if self.fix else str(self)


class SignatureInvalid(KeysError):
    """A signature does not verify under the key the registry says was valid."""

    def __init__(self, what: str) -> None:
        super().__init__(what)

    def advice(self) -> str:
        return (
            f"{self}. Do not use this document; it was altered or was not made by the "
            "agency it names. Ask that agency to send it again."
        )


class UnsealFailed(KeysError):
    """A sealed linkage secret cannot be opened with this agency's key."""

    def __init__(self, what: str) -> None:
        super().__init__(what)

    def advice(self) -> str:
        return (
            f"{self}. Check that you are using your own agency's key directory and the "
            "sealed file addressed to your agency; if both are right, the file was "
            "altered in transit: ask the creating agency to seal it again."
        )


class TokenRejected(KeysError):
    """A bearer token failed verification; `reason` says which rule it broke."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"token rejected: {reason}")
        self.reason = reason

    def advice(self) -> str:
        return f"{self}. Ask your agency node for a new token (`pprl keys issue-token`)."
