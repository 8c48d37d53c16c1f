"""ISO 4217 currency codes in circulation: a deal's currency is one of them.

A short list of our own rather than babel or pycountry: three letters is all a deal needs, and
a typo ("EUE") must be refused, not stored as a currency nobody can add up.
"""

_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
    CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
    GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT
    LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR
    NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
    STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG
    XOF XPF YER ZAR ZMW ZWG
    """
ISO_4217 = frozenset(_CODES.split())  # noqa: SIM905 (a table to read, not a list of 170 quoted strings)


def currency_checked(value: str) -> str:
    """The code in capitals, or ValueError with a sentence for the person who typed it."""
    code = (value or "").strip().upper()
    if code not in ISO_4217:
        raise ValueError(f"“{value}” is not a currency code: use three letters such as EUR, USD or GBP.")
    return code
