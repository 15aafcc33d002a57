"""Build `catalogs/<date>/grid.csv` (grid carbon intensity and data-centre PUE per provider region) from
`google_region_carbon_2024.csv` (Google Cloud region carbon data, Apache-2.0; see SOURCE.md) and the explicit
same-grid mapping below. Every row says which location's figure it carries (`proxy`); a region whose grid is not
known to match a sourced location gets no row, so llmplan reports its carbon as unknown instead of guessing.

    python catalogs/_sources/grid/make_grid.py catalogs/2026-12-03
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKED = "2026-12-03"
GOOGLE = ("Google Cloud region carbon data 2024 (github.com/GoogleCloudPlatform/region-carbon-info "
          "data/yearly/2024.csv at 49f3f26, Apache-2.0): grid carbon intensity, location-based annual average")
# Figures for grids Google publishes no region on: Cloud Carbon Footprint's methodology appendix V
# (github.com/cloud-carbon-footprint/cloud-carbon-footprint at b7a049c, Apache-2.0), which cites its sources.
CCF = {
    "ireland": (278.6, "EEA CO2 emission intensity (via Cloud Carbon Footprint methodology appendix V, b7a049c)"),
    "norway": (7.62, "carbonfootprint.com 2022 country factors (via Cloud Carbon Footprint, Azure norwayeast)"),
    "bahrain": (505.9, "carbonfootprint.com 2022 country factors (via Cloud Carbon Footprint, aws me-south-1)"),
    "uae": (404.1, "carbonfootprint.com 2022 country factors (via Cloud Carbon Footprint, aws me-central-1)"),
    "illinois (RFC)": (410.608, "EPA eGRID2020 NERC RFC (via Cloud Carbon Footprint appendix V)"),
    "arizona (WECC)": (322.167, "EPA eGRID2020 NERC WECC (via Cloud Carbon Footprint appendix V)"),
    "wyoming (WECC)": (322.167, "EPA eGRID2020 NERC WECC (via Cloud Carbon Footprint appendix V)"),
}
# Data-centre PUE. Assumptions (figures as the operators publish them, not re-read for this snapshot).
PUE = {
    "gcp": (1.09, "assumption: Google's reported fleet-wide trailing-twelve-month PUE for 2024 (Google "
                  "Environmental Report 2025)"),
    "aws": (1.15, "assumption: AWS's reported global data-centre PUE for 2024 (AWS sustainability site)"),
}
PUE_DEFAULT = (1.56, "assumption: industry average PUE (Uptime Institute Global Data Center Survey 2024); the "
                     "provider publishes no fleet figure we have checked")

# provider -> region -> ("gcp", google region) | ("ccf", key); same electricity grid, named in `proxy`.
MAP = {
    "gcp": {},  # every GCP region in Google's table maps to itself (filled below)
    "aws": {
        "us-east-1": ("gcp", "us-east4"), "us-east-2": ("gcp", "us-east5"), "us-west-1": ("gcp", "us-west2"),
        "us-west-2": ("gcp", "us-west1"), "ca-central-1": ("gcp", "northamerica-northeast1"),
        "eu-central-1": ("gcp", "europe-west3"), "eu-west-1": ("ccf", "ireland"), "eu-west-2": ("gcp", "europe-west2"),
        "eu-west-3": ("gcp", "europe-west9"), "eu-north-1": ("gcp", "europe-north2"), "eu-south-1": ("gcp", "europe-west8"),
        "eu-south-2": ("gcp", "europe-southwest1"), "ap-northeast-1": ("gcp", "asia-northeast1"),
        "ap-northeast-2": ("gcp", "asia-northeast3"), "ap-northeast-3": ("gcp", "asia-northeast2"),
        "ap-south-1": ("gcp", "asia-south1"), "ap-southeast-1": ("gcp", "asia-southeast1"),
        "ap-southeast-2": ("gcp", "australia-southeast1"), "ap-southeast-3": ("gcp", "asia-southeast2"),
        "ap-east-1": ("gcp", "asia-east2"), "af-south-1": ("gcp", "africa-south1"), "me-south-1": ("ccf", "bahrain"),
        "me-central-1": ("ccf", "uae"), "sa-east-1": ("gcp", "southamerica-east1"),
    },
    "azure": {
        "eastus": ("gcp", "us-east4"), "eastus2": ("gcp", "us-east4"), "centralus": ("gcp", "us-central1"),
        "southcentralus": ("gcp", "us-south1"), "westus": ("gcp", "us-west2"), "westus2": ("gcp", "us-west1"),
        "westus3": ("ccf", "arizona (WECC)"), "westcentralus": ("ccf", "wyoming (WECC)"),
        "northcentralus": ("ccf", "illinois (RFC)"), "canadacentral": ("gcp", "northamerica-northeast2"),
        "canadaeast": ("gcp", "northamerica-northeast1"), "northeurope": ("ccf", "ireland"),
        "westeurope": ("gcp", "europe-west4"), "uksouth": ("gcp", "europe-west2"), "ukwest": ("gcp", "europe-west2"),
        "francecentral": ("gcp", "europe-west9"), "germanywestcentral": ("gcp", "europe-west3"),
        "germanynorth": ("gcp", "europe-west3"), "swedencentral": ("gcp", "europe-north2"),
        "switzerlandnorth": ("gcp", "europe-west6"), "switzerlandwest": ("gcp", "europe-west6"),
        "norwayeast": ("ccf", "norway"), "italynorth": ("gcp", "europe-west8"), "polandcentral": ("gcp", "europe-central2"),
        "spaincentral": ("gcp", "europe-southwest1"), "japaneast": ("gcp", "asia-northeast1"),
        "japanwest": ("gcp", "asia-northeast2"), "koreacentral": ("gcp", "asia-northeast3"),
        "koreasouth": ("gcp", "asia-northeast3"), "centralindia": ("gcp", "asia-south1"),
        "southindia": ("gcp", "asia-south1"), "jioindiacentral": ("gcp", "asia-south1"),
        "jioindiawest": ("gcp", "asia-south1"), "eastasia": ("gcp", "asia-east2"), "southeastasia": ("gcp", "asia-southeast1"),
        "australiaeast": ("gcp", "australia-southeast1"), "australiacentral": ("gcp", "australia-southeast1"),
        "australiacentral2": ("gcp", "australia-southeast1"), "australiasoutheast": ("gcp", "australia-southeast2"),
        "brazilsouth": ("gcp", "southamerica-east1"), "mexicocentral": ("gcp", "northamerica-south1"),
        "israelcentral": ("gcp", "me-west1"), "qatarcentral": ("gcp", "me-central1"), "uaenorth": ("ccf", "uae"),
        "uaecentral": ("ccf", "uae"), "southafricanorth": ("gcp", "africa-south1"),
        "southafricawest": ("gcp", "africa-south1"), "indonesiacentral": ("gcp", "asia-southeast2"),
    },
    # Providers that name a city or a country grid we can match; RunPod's 'US', 'CA', Lambda's regions and
    # the rest name no location precise enough, so they get no row (carbon unknown).
    "runpod": {"NL": ("gcp", "europe-west4"), "SE": ("gcp", "europe-north2"), "NO": ("ccf", "norway")},
    "nebius": {"eu-north1": ("gcp", "europe-north1"), "eu-west1": ("gcp", "europe-west9"),
               "me-west1": ("gcp", "me-west1")},
    "fluidstack": {"FINLAND": ("gcp", "europe-north1")},
    "cudo": {"no-kristiansand-1": ("ccf", "norway")},
    "do": {"tor1": ("gcp", "northamerica-northeast2")},
}

EXTRA_PROVIDERS = {"lambda", "listprice", "paperspace", "vast"}  # in the catalog, no region matched to a grid


def rows() -> list[dict]:
    google = {r["Google Cloud Region"]: r for r in csv.DictReader(open(HERE / "google_region_carbon_2024.csv",
                                                                      encoding="utf-8"))}
    MAP["gcp"] = {g: ("gcp", g) for g in google}
    out = []
    for provider, regions in MAP.items():
        pue, pue_src = PUE.get(provider, PUE_DEFAULT)
        for region, (kind, key) in sorted(regions.items()):
            if kind == "gcp":
                g = google[key]
                value, source = float(g["Grid carbon intensity (gCO2eq / kWh)"]), GOOGLE
                proxy = f"gcp {key} ({g['Location']})"
            else:
                value, source = CCF[key]
                proxy = key
            out.append({"provider": provider, "region": region, "gco2e_per_kwh": round(value, 2), "proxy": proxy,
                        "pue": pue, "pue_source": pue_src, "source": source, "checked": CHECKED})
    # provider-wide rows (region '*'): the PUE for regions with no grid row (carbon unknown there); the '*'/'*' row
    # is the PUE for providers not listed at all (a user's quote, say)
    for provider in sorted(set(MAP) | EXTRA_PROVIDERS):
        pue, pue_src = PUE.get(provider, PUE_DEFAULT)
        out.append({"provider": provider, "region": "*", "gco2e_per_kwh": None, "proxy": None, "pue": pue,
                    "pue_source": pue_src, "source": "provider-wide PUE; no grid figure for unlisted regions",
                    "checked": CHECKED})
    out.append({"provider": "*", "region": "*", "gco2e_per_kwh": None, "proxy": None, "pue": PUE_DEFAULT[0],
                "pue_source": PUE_DEFAULT[1], "source": "default PUE for providers not listed", "checked": CHECKED})
    return out


if __name__ == "__main__":
    dest = Path(sys.argv[1]) / "grid.csv"
    rs = rows()
    with open(dest, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rs[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rs)
    print(f"{dest}: {len(rs)} rows", file=sys.stderr)
