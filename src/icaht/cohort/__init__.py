"""Cohort analytics: batch assessment of many patients (``icaht cohort assess``: one results row
per patient, local process pool or Apache Spark) and the cohort statistics and report built on
the results table. Decision support only, not a medical device."""
