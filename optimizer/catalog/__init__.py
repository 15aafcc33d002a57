"""The versioned catalog: GPUs, cloud offers, open-weight models and LLM API prices."""

from .load import Catalog, default_catalog_dir, load_catalog
from .schema import CAPACITY_TYPES, PRECISIONS, ApiOffer, GpuSpec, ModelSpec, Offer

__all__ = ["Catalog", "load_catalog", "default_catalog_dir", "CAPACITY_TYPES", "PRECISIONS", "ApiOffer",
           "GpuSpec", "ModelSpec", "Offer"]
