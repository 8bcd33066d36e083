"""The stem cell boost and allogeneic HCT decision (``boost-hct``): the indications shared with the
marrow card (:mod:`icaht.core.rules.boost_hct.indication`), the boost cards and the HCT cards.
"""
