"""The prophylaxis decision (``prophylaxis``), one module per kind of agent: antibacterial and
antifungal (early, then extended with a mold-active azole), antiviral, and PJP.
"""
