"""ISO 4217 currency codes and the number of minor-unit digits of each.

Maple carries money as an integer count of minor units (``value_in_cents``). To show
``{"currency": "JPY", "value_in_cents": 500}`` correctly as ``JPY 500`` (not ``JPY 5.00``) we
need each currency's exponent. Codes not listed here are rejected by validation.
"""

from __future__ import annotations

# Active ISO 4217 codes (list of 2024), code -> minor-unit digits. Funds codes and precious
# metals (XAU, XDR, ...) are left out on purpose: Maple bills in circulating currencies.
_EXPONENT_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_EXPONENT_3 = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENT_4 = "CLF UYW"
_EXPONENT_2 = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS "
    "GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR "
    "LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD "
    "PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN "
    "SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VED VES WST XCD XCG YER ZAR "
    "ZMW ZWG"
)

ISO_4217: dict[str, int] = {
    **{code: 0 for code in _EXPONENT_0.split()},
    **{code: 2 for code in _EXPONENT_2.split()},
    **{code: 3 for code in _EXPONENT_3.split()},
    **{code: 4 for code in _EXPONENT_4.split()},
}


def is_currency(code: str) -> bool:
    """True if ``code`` is an active ISO 4217 code in upper case."""
    return code in ISO_4217


def minor_digits(code: str) -> int:
    """Minor-unit digits of ``code``; 2 for a code we do not know (display only)."""
    return ISO_4217.get(code, 2)


def format_minor(currency: str, value: int) -> str:
    """``format_minor("USD", 500000)`` -> ``"USD 5,000.00"``; exact, no floats involved."""
    digits = minor_digits(currency)
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**digits) if digits else (abs(value), 0)
    text = f"{whole:,}"
    if digits:
        text += "." + str(frac).rjust(digits, "0")
    return f"{currency} {sign}{text}"
