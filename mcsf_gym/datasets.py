"""Public request traces by name: official URL, local cache, checksum, and a clear error.

No trace ships with the package. :func:`fetch` returns the local path of a named dataset,
looking in (first match wins) the ``data_dir`` argument, the ``MCSF_GYM_DATA`` environment
variable, or the user cache (``$XDG_CACHE_HOME/mcsf_gym``, default ``~/.cache/mcsf_gym``).
A file found there is checked against its published SHA-256; a missing one is downloaded from
its official URL into that folder (and checked) unless ``download=False``. Without the file
and without network, the error says where to put it and the command that gets it.

- ``azure-conv-2023``: ``azure_llm_2023_conv.csv``, the Azure LLM inference trace 2023,
  conversation service (19,366 requests);
- ``azure-code-2023``: ``azure_llm_2023_code.csv``, the same trace, code service (8,819);
- ``arxiv-summarization``: ``arxiv_summarization_lengths.csv``, prompt/output lengths of arXiv
  summarisation requests (28,257, no arrival times).

The Azure traces were published by Microsoft in the Azure Public Dataset (CC-BY 4.0); the
files used here are the copies in Vidur's CSV format (``arrived_at, num_prefill_tokens,
num_decode_tokens``, arrivals in seconds from the first request) from the Vidur simulator's
repository (microsoft/vidur, MIT licence, ``data/processed_traces/``), which also holds the
arXiv length file. Credit both where results from them are shown.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

#: Environment variable naming the folder that holds (or receives) the datasets.
DATA_ENV = "MCSF_GYM_DATA"

_VIDUR = "https://raw.githubusercontent.com/microsoft/vidur/main/data/processed_traces/"
_AZURE = "https://github.com/Azure/AzurePublicDataset/blob/master/data/"


@dataclass(frozen=True)
class Dataset:
    """A public trace file and where it comes from.

    Attributes:
        name: the registry name (``"azure-conv-2023"``).
        filename: the file's name in the data folder.
        url: the official download URL of this exact file.
        sha256: its SHA-256 (hex).
        rows: number of data rows.
        description: what it holds.
        origin: the upstream publication of the data (for credit).
    """

    name: str
    filename: str
    url: str
    sha256: str
    rows: int
    description: str
    origin: str


DATASETS: dict[str, Dataset] = {
    dataset.name: dataset
    for dataset in (
        Dataset(
            name="azure-conv-2023",
            filename="azure_llm_2023_conv.csv",
            url=_VIDUR + "splitwise_conv.csv",
            sha256="439e4138b7e384f316de614c071f7162be05b8af0cef866f82faacd1b0472249",
            rows=19366,
            description="Azure LLM inference trace 2023, conversation service (about 1 hour)",
            origin=_AZURE + "AzureLLMInferenceTrace_conv.csv (CC-BY 4.0), via microsoft/vidur",
        ),
        Dataset(
            name="azure-code-2023",
            filename="azure_llm_2023_code.csv",
            url=_VIDUR + "splitwise_code.csv",
            sha256="f266b907d109d471c61283ab69771c17ad79a18b33ff6e96aa546346f52767a6",
            rows=8819,
            description="Azure LLM inference trace 2023, code service (about 1 hour)",
            origin=_AZURE + "AzureLLMInferenceTrace_code.csv (CC-BY 4.0), via microsoft/vidur",
        ),
        Dataset(
            name="arxiv-summarization",
            filename="arxiv_summarization_lengths.csv",
            url=_VIDUR + "arxiv_summarization_stats_llama2_tokenizer_filtered_v2.csv",
            sha256="9d3580538d915ca75e4aaaa54590b42dbb17abc6d74c8913310cf07c232adcdc",
            rows=28257,
            description="prompt/output token counts of arXiv summarisation requests "
            "(Llama-2 tokenizer), no arrival times",
            origin="microsoft/vidur data/processed_traces (MIT licence)",
        ),
    )
}

_VERIFIED: dict[tuple[str, int, int], bool] = {}


def resolve_data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The folder datasets are read from and downloaded to.

    Args:
        path: an explicit folder; ``None``: ``$MCSF_GYM_DATA`` if set, else the user cache.
    """
    if path is not None:
        return Path(path)
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "mcsf_gym"


def dataset(name: str) -> Dataset:
    """The :class:`Dataset` registered under ``name``.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    return DATASETS[name]


def sha256_of(path: Path) -> str:
    """The SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check(info: Dataset, path: Path) -> None:
    """Raise ``ValueError`` unless ``path`` has the dataset's checksum (cached per file state)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _VERIFIED:
        return
    actual = sha256_of(path)
    if actual != info.sha256:
        raise ValueError(
            f"dataset {info.name!r}: {path} has sha256 {actual}, expected {info.sha256} "
            f"(a different or damaged file); delete it and download it again from {info.url}"
        )
    _VERIFIED[key] = True


def _download(info: Dataset, target: Path, timeout: float) -> None:
    """Download ``info.url`` to ``target`` through a temporary file, checking the checksum."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{info.filename}.")
    os.close(handle)
    part = Path(temporary)
    try:
        with urllib.request.urlopen(info.url, timeout=timeout) as response, part.open("wb") as out:
            shutil.copyfileobj(response, out)
        _check(info, part)
        part.replace(target)
    finally:
        part.unlink(missing_ok=True)


def fetch(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    timeout: float = 60.0,
) -> Path:
    """The local path of dataset ``name``, downloading it into the data folder if missing.

    Args:
        name: a name of :data:`DATASETS`.
        data_dir: the data folder (default: :func:`resolve_data_dir`).
        download: try the official URL when the file is missing.
        timeout: seconds to wait for the download.

    Returns:
        The path of the checked file.

    Raises:
        ValueError: for an unknown name, or a file whose checksum differs.
        FileNotFoundError: when the file is missing and cannot be downloaded; the message
            names the folder, the URL and the command that gets the file.
    """
    info = dataset(name)
    folder = resolve_data_dir(data_dir)
    path = folder / info.filename
    if not path.is_file() and download:
        try:
            _download(info, path, timeout)
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = f"the download from {info.url} failed ({error})"
        else:
            reason = ""
    else:
        reason = "downloads are off" if not download else ""
    if not path.is_file():
        raise FileNotFoundError(
            f"dataset {name!r} ({info.filename}) is not in {folder} and {reason}; get it with "
            f"'curl -L -o {path} {info.url}', or set {DATA_ENV} (or pass data_dir) to a folder "
            "that holds it"
        )
    _check(info, path)
    return path


_PLACEHOLDER = re.compile(r"\{data:(?P<name>[a-z0-9-]+)\}")


def placeholder_names(spec: str) -> tuple[str, ...]:
    """The dataset names that ``spec``'s ``{data:NAME}`` placeholders refer to, in order, once."""
    return tuple(dict.fromkeys(match["name"] for match in _PLACEHOLDER.finditer(spec)))


def resolve_placeholders(spec: str, data_dir: str | os.PathLike[str] | None = None) -> str:
    """``spec`` with every ``{data:NAME}`` replaced by the local path of dataset ``NAME``.

    For workload specs that name a trace by dataset
    (``"trace:path={data:azure-conv-2023},n=300"``); each dataset is :func:`fetch`-ed.

    Raises:
        ValueError: for an unknown name.
        FileNotFoundError: for a dataset that is missing and cannot be downloaded.
    """
    return _PLACEHOLDER.sub(lambda match: str(fetch(match["name"], data_dir)), spec)
