"""Which catalog model runs behind each deployment name (no I/O beyond reading one small config file).

On Foundry a request names a *deployment*, whose name the user chose; the model behind it is only known if the
user says so. A :class:`ModelDirectory` holds those mappings, from three places (later ones win, name by name):

1. ``GROK_AZURE_DEPLOYMENTS``: ``"prod-chat=grok-4-1-fast-non-reasoning,thinker=grok-4"``;
2. ``GROK_AZURE_DEPLOYMENTS_FILE``: the path of a JSON object ``{"prod-chat": "grok-4-1-fast-non-reasoning"}``;
3. the client's ``deployment_models=`` argument.

A deployment named after a catalog id or alias (``"grok-4"``, ``"grok-4.1-fast-reasoning"``) needs no mapping.
A mapping to a model the catalog does not know is refused when the client is built, with suggestions. The
``model`` field of a response (the *served* model, e.g. ``grok-3-mini-high``) is never looked up here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from ._catalog import CATALOG_ENV, Catalog, ModelSpec, UnknownModelError, load_catalog, packaged_catalog
from ._errors import ConfigurationError
from ._json_file import JSONFileError, decode_strict, read_at_most

__all__ = [
    "DEPLOYMENTS_ENV",
    "DEPLOYMENTS_FILE_ENV",
    "DeployedModel",
    "DeploymentSource",
    "ModelDirectory",
    "parse_deployments_env",
    "read_deployments_file",
]

DEPLOYMENTS_ENV = "GROK_AZURE_DEPLOYMENTS"
DEPLOYMENTS_FILE_ENV = "GROK_AZURE_DEPLOYMENTS_FILE"
# A deployments file is a short hand-written mapping; anything larger is a wrong path (a log, a data set).
_MAX_FILE_BYTES = 1 << 20

DeploymentSource = Literal["deployment_models", "file", "environment", "deployments", "catalog"]
"""Where a deployment's model came from: the ``deployment_models=`` argument, ``GROK_AZURE_DEPLOYMENTS_FILE``,
``GROK_AZURE_DEPLOYMENTS``, a :class:`~grok_azure.Deployment` of ``deployments=`` whose ``deployment`` name is a
catalog model's, or (``catalog``) a call's deployment name that is itself a catalog id or alias."""


@dataclass(frozen=True, slots=True)
class DeployedModel:
    """One deployment and the catalog model behind it.

    Attributes:
        deployment: the deployment name, as sent in ``model=``.
        spec: the catalog entry of the model it runs (:class:`~grok_azure.ModelSpec`).
        source: where the mapping came from (see :data:`DeploymentSource`).
    """

    deployment: str
    spec: ModelSpec
    source: DeploymentSource

    @property
    def model(self) -> str:
        """The catalog id of the model behind the deployment."""
        return self.spec.id

    def __repr__(self) -> str:
        return (
            f"DeployedModel(deployment={self.deployment!r}, model={self.spec.id!r}, source={self.source!r})"
        )


def parse_deployments_env(text: str) -> dict[str, str]:
    """``"a=grok-4, b=grok-4-1-fast-reasoning"`` -> ``{"a": "grok-4", "b": "grok-4-1-fast-reasoning"}``.

    Blank entries are skipped; an entry without ``=``, with an empty side, or naming a deployment twice raises
    :class:`ConfigurationError`.
    """
    mapping: dict[str, str] = {}
    for entry in text.split(","):
        if not entry.strip():
            continue
        name, sep, model = (part.strip() for part in entry.partition("="))
        if not sep or not name or not model:
            raise ConfigurationError(
                f"{DEPLOYMENTS_ENV}: expected NAME=MODEL entries separated by commas "
                f"(e.g. prod-chat=grok-4-1-fast-non-reasoning,thinker=grok-4); one entry is not of that form "
                "(its text is not shown: a misplaced secret must not reach a log)"
            )
        if name in mapping:
            raise ConfigurationError(f"{DEPLOYMENTS_ENV}: deployment {name!r} is given twice")
        mapping[name] = model
    return mapping


def read_deployments_file(path: str) -> dict[str, str]:
    """The JSON object ``{"deployment": "model", ...}`` at ``path`` (at most 1 MiB).

    Raises:
        ConfigurationError: the file is missing, unreadable, too large, not JSON, not an object of strings, or
            names a deployment twice.
    """
    where = f"{DEPLOYMENTS_FILE_ENV}={path!r}"
    try:
        raw = read_at_most(path, _MAX_FILE_BYTES)
    except OSError as exc:
        raise ConfigurationError(f"{where}: cannot read the file ({exc.strerror or exc})") from None
    if raw is None:
        raise ConfigurationError(f"{where}: the file is over 1 MiB; expected a small JSON object")
    try:
        document = decode_strict(raw)
    except JSONFileError as exc:
        if exc.duplicate is not None:
            raise ConfigurationError(f"{where}: deployment {exc.duplicate!r} is given twice") from None
        raise ConfigurationError(f"{where}: {exc.reason}") from None
    if not isinstance(document, dict):
        raise ConfigurationError(f'{where}: expected a JSON object like {{"prod-chat": "grok-4"}}')
    for name, model in document.items():
        if not isinstance(model, str) or not name.strip() or not model.strip():
            raise ConfigurationError(
                f"{where}: every entry must map a deployment name to a model name (strings); got {name!r}"
            )
    return {name.strip(): model.strip() for name, model in document.items()}


class ModelDirectory:
    """Deployment name -> :class:`DeployedModel`, for one client; immutable once built (safe across threads).

    Args:
        catalog: the catalog to resolve model names in. None: the packaged one with the file named by
            ``GROK_AZURE_CATALOG`` (read from ``environ``) merged over it; the packaged one alone is loaded
            when first needed, a file at once (so a bad file fails when the client is built).
        deployment_models: the client's ``deployment_models=`` (deployment name -> catalog id, alias or a
            :class:`~grok_azure.ModelSpec`).
        environ: where to read ``GROK_AZURE_DEPLOYMENTS`` and ``GROK_AZURE_DEPLOYMENTS_FILE``.
        pool_names: the ``deployment`` names of the client's :class:`~grok_azure.Deployment` items.

    Raises:
        ConfigurationError: a malformed source, or a mapping to a model the catalog does not know.
    """

    __slots__ = ("_catalog", "_mapped", "_pool")

    def __init__(
        self,
        catalog: Catalog | None = None,
        deployment_models: Mapping[str, str | ModelSpec] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        pool_names: Iterable[str] = (),
    ) -> None:
        if catalog is not None and not isinstance(catalog, Catalog):
            raise ConfigurationError(
                f"catalog must be a Catalog (see load_catalog()); got {type(catalog).__name__}"
            )
        env = environ or {}
        path = env.get(CATALOG_ENV, "").strip()
        self._catalog = catalog if catalog is not None or not path else load_catalog(path)
        sources: list[tuple[DeploymentSource, str, Mapping[str, str | ModelSpec]]] = []
        text = env.get(DEPLOYMENTS_ENV, "")
        if text.strip():
            sources.append(("environment", DEPLOYMENTS_ENV, parse_deployments_env(text)))
        file = env.get(DEPLOYMENTS_FILE_ENV, "").strip()
        if file:
            sources.append(("file", f"{DEPLOYMENTS_FILE_ENV}={file!r}", read_deployments_file(file)))
        if deployment_models is not None:
            sources.append(("deployment_models", "deployment_models", _check_argument(deployment_models)))
        self._mapped: dict[str, DeployedModel] = {}
        for source, where, mapping in sources:
            for name, model in mapping.items():
                self._mapped[name] = DeployedModel(name, self._spec(model, name, where), source)
        self._pool: tuple[str, ...] = tuple(dict.fromkeys(pool_names))

    @property
    def catalog(self) -> Catalog:
        """The catalog names resolve in (the packaged one unless the client was given ``catalog=``)."""
        if self._catalog is None:
            self._catalog = packaged_catalog()  # cached process-wide: racing threads get the same object
        return self._catalog

    def _spec(self, model: str | ModelSpec, name: str, where: str) -> ModelSpec:
        if isinstance(model, ModelSpec):
            return model
        try:
            return self.catalog.require(model)
        except UnknownModelError as exc:
            raise ConfigurationError(
                f"{where}: deployment {name!r} maps to an unknown model. {exc}"
            ) from None

    def resolve(self, name: str) -> DeployedModel | None:
        """The deployment ``name`` (mapped, or itself a catalog id or alias), or None when the model is unknown."""
        mapped = self._mapped.get(name)
        if mapped is not None:
            return mapped
        spec = self.catalog.get(name)
        if spec is None:
            return None
        return DeployedModel(name, spec, "deployments" if name in self._pool else "catalog")

    def configured(self) -> tuple[DeployedModel, ...]:
        """The mapped deployments (from the argument, the file and the environment), in the order first given."""
        return tuple(self._mapped.values())

    def listed(self) -> list[DeployedModel]:
        """Every deployment the client knows a model for: the mapped ones, then ``deployments=`` names that are
        catalog names."""
        found = list(self._mapped.values())
        for name in self._pool:
            if name not in self._mapped:
                deployed = self.resolve(name)
                if deployed is not None:
                    found.append(deployed)
        return found

    def get(self, name: str) -> DeployedModel:
        """Like :meth:`resolve`, but raise :class:`ConfigurationError` (naming the mapped deployments) when unknown."""
        if not isinstance(name, str):
            raise ConfigurationError(f"a deployment name is a str; got {type(name).__name__}")
        deployed = self.resolve(name)
        if deployed is not None:
            return deployed
        mapped = ", ".join(repr(n) for n in self._mapped) or "none"
        raise ConfigurationError(
            f"No model is known for deployment {name!r}: it is not mapped (mapped deployments: {mapped}) and is "
            f"not a catalog model name. Map it with deployment_models={{{name!r}: '<catalog model id>'}} or "
            f"{DEPLOYMENTS_ENV}."
        )

    def __repr__(self) -> str:
        return f"ModelDirectory(mapped={list(self._mapped)!r})"


def _check_argument(value: object) -> Mapping[str, str | ModelSpec]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"deployment_models must be a mapping of deployment name to model name; got {type(value).__name__}"
        )
    checked: dict[str, str | ModelSpec] = {}
    for name, model in value.items():
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError(
                f"deployment_models: a deployment name must be a non-empty str; got {name!r}"
            )
        if isinstance(model, str) and model.strip():
            checked[name.strip()] = model.strip()
        elif isinstance(model, ModelSpec):
            checked[name.strip()] = model
        else:
            raise ConfigurationError(
                f"deployment_models[{name!r}] must be a catalog model name or a ModelSpec; got {model!r}"
            )
    return checked
