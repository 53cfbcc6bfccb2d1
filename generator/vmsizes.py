"""Azure VM sizes that are retired or announced for retirement, with their dates: the only module that knows them.

Findings compare a size's date with AS_OF, a fixed date in this table (never today), so the same spec gives the
same findings on every day until someone updates the table and AS_OF together, from the sources below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# The day the table was last checked against its sources. Move it forward only together with the table.
AS_OF = date(2026, 12, 1)

# The size compute clusters and instances get when the spec names none. Standard_DS3_v2 (the Dsv2 series) is
# announced for retirement on 2028-05-01 and, since July 2026, new subscriptions cannot deploy it ("Capacity
# growth restrictions"); Microsoft's modernization guide points D/Ds/Dv2/Dsv2 users at Dsv5 and later. D4s_v5
# keeps the 4 vCPUs of DS3_v2 (16 GiB instead of 14).
# https://learn.microsoft.com/azure/virtual-machines/sizes/lifecycle/retirements-and-capacity-restrictions
DEFAULT_VM_SIZE = "Standard_D4s_v5"

LIFECYCLE = "https://learn.microsoft.com/azure/virtual-machines/sizes/lifecycle/retirements-and-capacity-restrictions"
ML_RETIRED = "https://learn.microsoft.com/azure/machine-learning/how-to-create-attach-compute-cluster#troubleshooting"
NCV3 = "https://learn.microsoft.com/azure/virtual-machines/sizes/lifecycle/retirement/ncv3-retirement"


@dataclass(frozen=True)
class Retirement:
    size: str  # as Azure spells it
    series: str
    on: date
    replacement: str  # words for people: what Microsoft recommends instead
    source: str

    def retired(self, as_of: date = AS_OF) -> bool:
        return self.on <= as_of


def _series(series: str, on: date, replacement: str, source: str, *sizes: str) -> dict[str, Retirement]:
    return {s.lower(): Retirement(s, series, on, replacement, source) for s in sizes}


_T4_H100 = "NCads_H100_v5, NCasT4_v3 (e.g. Standard_NC4as_T4_v3) or NVadsA10_v5"
_GENERAL = "Dsv5/Ddsv5/Dasv5 or later (e.g. Standard_D4s_v5)"

# Keyed by the size in lower case (Azure compares VM sizes without regard to case).
RETIREMENTS: dict[str, Retirement] = {
    # Retired: Azure ML's own list ("These series retired on August 31, 2023 / 2024").
    **_series("NC", date(2023, 8, 31), _T4_H100, ML_RETIRED,
              "Standard_NC6", "Standard_NC12", "Standard_NC24", "Standard_NC24r", "Standard_NC6_Promo",
              "Standard_NC12_Promo", "Standard_NC24_Promo", "Standard_NC24r_Promo"),
    **_series("NCv2", date(2023, 8, 31), _T4_H100, ML_RETIRED,
              "Standard_NC6s_v2", "Standard_NC12s_v2", "Standard_NC24s_v2", "Standard_NC24rs_v2"),
    **_series("ND", date(2023, 8, 31), "ND A100 v4 or NCads_H100_v5", ML_RETIRED,
              "Standard_ND6s", "Standard_ND12s", "Standard_ND24s", "Standard_ND24rs"),
    **_series("NV", date(2023, 8, 31), "NVadsA10_v5", ML_RETIRED,
              "Standard_NV6", "Standard_NV12", "Standard_NV24", "Standard_NV6_Promo", "Standard_NV12_Promo",
              "Standard_NV24_Promo"),
    **_series("Av1", date(2024, 8, 31), _GENERAL, ML_RETIRED,
              "Standard_A0", "Standard_A1", "Standard_A2", "Standard_A3", "Standard_A4", "Standard_A5",
              "Standard_A6", "Standard_A7", "Basic_A0", "Basic_A1", "Basic_A2", "Basic_A3", "Basic_A4"),
    **_series("HB", date(2024, 8, 31), "HBv3 or later", ML_RETIRED, "Standard_HB60rs"),
    # NCv3: "On September 30, 2025, Microsoft Azure will retire the Standard_NC6s_v3, Standard_NC12s_v3,
    # Standard_NC24s_v3, and Standard_NC24rs_v3". NC24rs_v3 was first announced for March 31, 2025 and then moved
    # to the same date as the rest of the series (ncv3-nc24rs-retirement: "All the NCv3-series VM sizes,
    # including Standard_NC24rs_v3, will be retired on September 30, 2025").
    **_series("NCv3", date(2025, 9, 30), _T4_H100, NCV3,
              "Standard_NC6s_v3", "Standard_NC12s_v3", "Standard_NC24s_v3"),
    **_series("NCv3", date(2025, 9, 30), _T4_H100,
              "https://learn.microsoft.com/azure/virtual-machines/sizes/lifecycle/retirement/ncv3-nc24rs-retirement",
              "Standard_NC24rs_v3"),
    **_series("NVv3", date(2026, 9, 30), "NVadsA10_v5 or NVadsV710_v5", LIFECYCLE,
              "Standard_NV12s_v3", "Standard_NV24s_v3", "Standard_NV48s_v3"),
    **_series("NVv4", date(2026, 9, 30), "NVadsA10_v5 or NVadsV710_v5", LIFECYCLE,
              "Standard_NV4as_v4", "Standard_NV8as_v4", "Standard_NV16as_v4", "Standard_NV32as_v4"),
    # Announced, not yet reached (AS_OF above).
    **_series("HC", date(2027, 5, 31), "HBv3 or later", LIFECYCLE, "Standard_HC44rs"),
    **_series("HBv2", date(2027, 5, 31), "HBv3 or later", LIFECYCLE, "Standard_HB120rs_v2"),
    **_series("D", date(2028, 5, 1), _GENERAL, LIFECYCLE,
              "Standard_D1", "Standard_D2", "Standard_D3", "Standard_D4", "Standard_D11", "Standard_D12",
              "Standard_D13", "Standard_D14"),
    **_series("Ds", date(2028, 5, 1), _GENERAL, LIFECYCLE,
              "Standard_DS1", "Standard_DS2", "Standard_DS3", "Standard_DS4", "Standard_DS11", "Standard_DS12",
              "Standard_DS13", "Standard_DS14"),
    **_series("Dv2", date(2028, 5, 1), _GENERAL, LIFECYCLE,
              "Standard_D1_v2", "Standard_D2_v2", "Standard_D3_v2", "Standard_D4_v2", "Standard_D5_v2",
              "Standard_D11_v2", "Standard_D12_v2", "Standard_D13_v2", "Standard_D14_v2", "Standard_D15_v2"),
    **_series("Dsv2", date(2028, 5, 1), _GENERAL, LIFECYCLE,
              "Standard_DS1_v2", "Standard_DS2_v2", "Standard_DS3_v2", "Standard_DS4_v2", "Standard_DS5_v2",
              "Standard_DS11_v2", "Standard_DS12_v2", "Standard_DS13_v2", "Standard_DS14_v2", "Standard_DS15_v2",
              "Standard_DS11-1_v2", "Standard_DS12-1_v2", "Standard_DS12-2_v2", "Standard_DS13-2_v2",
              "Standard_DS13-4_v2", "Standard_DS14-4_v2", "Standard_DS14-8_v2"),
    **_series("Ls", date(2028, 5, 1), "Lasv3 or Lasv4", LIFECYCLE,
              "Standard_L4s", "Standard_L8s", "Standard_L16s", "Standard_L32s"),
    **_series("F", date(2028, 11, 15), "Fasv6/Falsv6 or later", LIFECYCLE,
              "Standard_F1", "Standard_F2", "Standard_F4", "Standard_F8", "Standard_F16"),
    **_series("Fs", date(2028, 11, 15), "Fasv6/Falsv6 or later", LIFECYCLE,
              "Standard_F1s", "Standard_F2s", "Standard_F4s", "Standard_F8s", "Standard_F16s"),
    **_series("Fsv2", date(2028, 11, 15), "Fasv6/Falsv6 or later", LIFECYCLE,
              "Standard_F2s_v2", "Standard_F4s_v2", "Standard_F8s_v2", "Standard_F16s_v2", "Standard_F32s_v2",
              "Standard_F48s_v2", "Standard_F64s_v2", "Standard_F72s_v2"),
    **_series("Av2", date(2028, 11, 15), _GENERAL, LIFECYCLE,
              "Standard_A1_v2", "Standard_A2_v2", "Standard_A4_v2", "Standard_A8_v2", "Standard_A2m_v2",
              "Standard_A4m_v2", "Standard_A8m_v2"),
    **_series("Dv3", date(2029, 11, 15), _GENERAL, LIFECYCLE,
              "Standard_D2_v3", "Standard_D4_v3", "Standard_D8_v3", "Standard_D16_v3", "Standard_D32_v3",
              "Standard_D48_v3", "Standard_D64_v3"),
    **_series("Dsv3", date(2029, 11, 15), _GENERAL, LIFECYCLE,
              "Standard_D2s_v3", "Standard_D4s_v3", "Standard_D8s_v3", "Standard_D16s_v3", "Standard_D32s_v3",
              "Standard_D48s_v3", "Standard_D64s_v3"),
    **_series("Ev3", date(2029, 11, 15), "Ev5/Esv6 or later", LIFECYCLE,
              "Standard_E2_v3", "Standard_E4_v3", "Standard_E8_v3", "Standard_E16_v3", "Standard_E20_v3",
              "Standard_E32_v3", "Standard_E48_v3", "Standard_E64_v3"),
    **_series("Esv3", date(2029, 11, 15), "Ev5/Esv6 or later", LIFECYCLE,
              "Standard_E2s_v3", "Standard_E4s_v3", "Standard_E8s_v3", "Standard_E16s_v3", "Standard_E20s_v3",
              "Standard_E32s_v3", "Standard_E48s_v3", "Standard_E64s_v3"),
}


def retirement(size: str) -> Retirement | None:
    """The retirement of `size` (any case), or None when none is known."""
    return RETIREMENTS.get(size.lower())
