"""Cloud regions -> jurisdictions.

A jurisdiction is the legal area where data is processed: `eu` (the 27 EU member states), `us`, or an ISO 3166
country code for everything else (`uk`, `ch`, `no`, `ca`, `jp`, ...). Norway, Iceland and Switzerland are not `eu`:
a workload that accepts them lists them explicitly. API endpoints whose processing location is not pinned are
`global`. An unknown region maps to None and the importer rejects the row (it never guesses).
"""

from __future__ import annotations

EU27 = {"at", "be", "bg", "hr", "cy", "cz", "dk", "ee", "fi", "fr", "de", "gr", "hu", "ie", "it", "lv", "lt", "lu",
        "mt", "nl", "pl", "pt", "ro", "sk", "si", "es", "se"}


def country_to_jurisdiction(cc: str) -> str:
    cc = cc.strip().lower()
    if cc == "gb":
        return "uk"
    return "eu" if cc in EU27 else cc


_AWS = {
    "us-east-1": "us", "us-east-2": "us", "us-west-1": "us", "us-west-2": "us", "us-gov-west-1": "us-gov",
    "us-gov-east-1": "us-gov", "ca-central-1": "ca", "ca-west-1": "ca", "mx-central-1": "mx", "sa-east-1": "br",
    "eu-central-1": "eu", "eu-central-2": "ch", "eu-west-1": "eu", "eu-west-2": "uk", "eu-west-3": "eu",
    "eu-north-1": "eu", "eu-south-1": "eu", "eu-south-2": "eu", "il-central-1": "il", "me-central-1": "ae",
    "me-south-1": "bh", "af-south-1": "za", "ap-northeast-1": "jp", "ap-northeast-2": "kr", "ap-northeast-3": "jp",
    "ap-south-1": "in", "ap-south-2": "in", "ap-southeast-1": "sg", "ap-southeast-2": "au", "ap-southeast-3": "id",
    "ap-southeast-4": "au", "ap-southeast-5": "my", "ap-southeast-7": "th", "ap-east-1": "hk",
}
_GCP = {
    "northamerica-northeast1": "ca", "northamerica-northeast2": "ca", "northamerica-south1": "mx",
    "southamerica-east1": "br", "southamerica-west1": "cl", "europe-west1": "eu", "europe-west2": "uk",
    "europe-west3": "eu", "europe-west4": "eu", "europe-west6": "ch", "europe-west8": "eu", "europe-west9": "eu",
    "europe-west10": "eu", "europe-west12": "eu", "europe-north1": "eu", "europe-north2": "eu",
    "europe-central2": "eu", "europe-southwest1": "eu", "asia-east1": "tw", "asia-east2": "hk",
    "asia-northeast1": "jp", "asia-northeast2": "jp", "asia-northeast3": "kr", "asia-south1": "in",
    "asia-south2": "in", "asia-southeast1": "sg", "asia-southeast2": "id", "australia-southeast1": "au",
    "australia-southeast2": "au", "me-west1": "il", "me-central1": "qa", "me-central2": "sa", "africa-south1": "za",
}
_AZURE = {
    "australiacentral": "au", "australiacentral2": "au", "australiaeast": "au", "australiasoutheast": "au",
    "brazilsouth": "br", "brazilsoutheast": "br", "canadacentral": "ca", "canadaeast": "ca", "centralindia": "in",
    "southindia": "in", "westindia": "in", "jioindiacentral": "in", "jioindiawest": "in", "chilecentral": "cl",
    "eastasia": "hk", "southeastasia": "sg", "francecentral": "eu", "francesouth": "eu", "germanynorth": "eu",
    "germanywestcentral": "eu", "italynorth": "eu", "northeurope": "eu", "westeurope": "eu", "polandcentral": "eu",
    "spaincentral": "eu", "swedencentral": "eu", "swedensouth": "eu", "norwayeast": "no", "norwaywest": "no",
    "switzerlandnorth": "ch", "switzerlandwest": "ch", "uksouth": "uk", "ukwest": "uk", "indonesiacentral": "id",
    "israelcentral": "il", "japaneast": "jp", "japanwest": "jp", "koreacentral": "kr", "koreasouth": "kr",
    "malaysiawest": "my", "mexicocentral": "mx", "qatarcentral": "qa", "southafricanorth": "za",
    "southafricawest": "za", "uaecentral": "ae", "uaenorth": "ae", "newzealandnorth": "nz",
    **{r: "us" for r in ("eastus", "eastus2", "westus", "westus2", "westus3", "centralus", "northcentralus",
                         "southcentralus", "westcentralus")},
}
_LAMBDA = {
    "asia-northeast-1": "jp", "asia-northeast-2": "kr", "asia-south-1": "in", "australia-east-1": "au",
    "europe-central-1": "eu", "europe-south-1": "eu", "me-west-1": "il",
}
_NEBIUS = {"eu-north1": "eu", "eu-north2": "eu", "eu-west1": "eu", "me-west1": "il", "us-central1": "us"}
_DO = {"tor1": "ca", "nyc1": "us", "nyc2": "us", "nyc3": "us", "atl1": "us", "sfo2": "us", "sfo3": "us",
       "ams3": "eu", "fra1": "eu", "lon1": "uk", "sgp1": "sg", "blr1": "in", "syd1": "au"}
_NAMED = {"finland": "eu", "iceland": "is", "norway": "no", "canada": "ca", "usa": "us", "united states": "us"}


def jurisdiction_of(cloud: str, region: str) -> str | None:
    """Jurisdiction of a cloud region, or None when unknown."""
    cloud, r = cloud.lower(), region.strip()
    rl = r.lower()
    if cloud == "aws":
        return _AWS.get(rl)
    if cloud == "gcp":
        if rl.startswith("us-"):
            return "us"
        return _GCP.get(rl)
    if cloud == "azure":
        return _AZURE.get(rl)
    if cloud == "lambda":
        if rl.startswith("us-"):
            return "us"
        return _LAMBDA.get(rl)
    if cloud == "nebius":
        return _NEBIUS.get(rl)
    if cloud == "do":
        return _DO.get(rl)
    if cloud == "runpod":  # Region is the data centre's ISO country code (CA, CZ, IS, NL, NO, RO, SE, US)
        return country_to_jurisdiction(rl) if len(rl) == 2 and rl.isalpha() else None
    if cloud == "cudo":  # <cc>-<city>-<n>, e.g. se-stockholm-1
        parts = rl.split("-")
        return country_to_jurisdiction(parts[0]) if len(parts) >= 3 and len(parts[0]) == 2 else None
    if cloud == "vast":
        parts = [p.strip() for p in r.split(",")]
        if len(parts) >= 2 and len(parts[-2]) == 2:
            return country_to_jurisdiction(parts[-2])
        return None
    if cloud == "paperspace":
        if "east coast" in rl or "west coast" in rl:
            return "us"
        if "europe" in rl:
            return "eu"
        return None
    if rl in _NAMED:
        return _NAMED[rl]
    return None


# Country names users write, mapped to their jurisdiction (for "did you mean" on a jurisdiction name)
COUNTRY_NAMES = {
    "germany": "eu", "france": "eu", "ireland": "eu", "netherlands": "eu", "spain": "eu", "italy": "eu",
    "sweden": "eu", "finland": "eu", "poland": "eu", "belgium": "eu", "austria": "eu", "denmark": "eu",
    "europe": "eu", "european union": "eu", "usa": "us", "united states": "us", "america": "us",
    "united kingdom": "uk", "britain": "uk", "great britain": "uk", "england": "uk", "gb": "uk",
    "switzerland": "ch", "norway": "no", "iceland": "is", "canada": "ca", "japan": "jp", "korea": "kr",
    "south korea": "kr", "india": "in", "singapore": "sg", "australia": "au", "brazil": "br", "israel": "il",
    "taiwan": "tw", "hong kong": "hk", "indonesia": "id", "mexico": "mx", "south africa": "za",
    "uae": "ae", "united arab emirates": "ae", "saudi arabia": "sa", "qatar": "qa", "chile": "cl",
}
BASE_JURISDICTIONS = {"any", "global", "eu", "us", "us-gov", "uk"}


def known_jurisdictions() -> set[str]:
    """Every jurisdiction name llmplan knows: the base set and whatever a known cloud region maps to."""
    out = set(BASE_JURISDICTIONS) | set(COUNTRY_NAMES.values())
    for table in (_AWS, _GCP, _AZURE, _LAMBDA, _NEBIUS, _DO, _NAMED):
        out |= {j for j in table.values() if j}
    return out


def jurisdiction_hint(name: str) -> str:
    """Why a jurisdiction name is not one, and what to write instead ('' when nothing better is known)."""
    low = name.strip().lower()
    if low in COUNTRY_NAMES:
        return f" '{name}' is a country name: its jurisdiction is '{COUNTRY_NAMES[low]}'."
    if low in EU27:
        return f" '{name}' is an EU member state: its jurisdiction is 'eu'."
    return ""
