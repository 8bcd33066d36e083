"""The Aalen-Johansen estimator of cumulative incidence with competing events (lifelines
``AalenJohansenFitter``; Aalen and Johansen, Scand J Stat 1978) on whole-day times.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from lifelines import AalenJohansenFitter

from icaht.knowledge.bibliography import Reference

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: competing-risk event codes
CENSORED, RECOVERY, DEATH, PROGRESSION = 0, 1, 2, 3
#: Within one day, recoveries come first, then competing events (+0.25 day), then censoring
#: (+0.5 day: a patient censored on day d was still at risk that day, the usual convention). The
#: Aalen-Johansen point estimate does not depend on the order of events of different kinds on
#: one day (module tests), so this only spares lifelines its random tie jitter: the estimate is
#: deterministic and its variance loop runs over days, not patients.
COMPETING_OFFSET_DAYS: Final = 0.25
#: lifelines sets the estimate of its first event-table row to zero, which would drop events on
#: day 0 (recovery on the day of infusion); times are shifted by one day for the fit and back
TIME_SHIFT_DAYS: Final = 1.0
CENSOR_OFFSET_DAYS: Final = 0.5
#: lifelines jitters tied times of different event kinds (not expected after the offsets above
#: with whole days); a fixed seed keeps any such case reproducible
AJ_JITTER_SEED: Final = 20230
#: confidence level of the cumulative incidence intervals (project default)
CI_ALPHA: Final = 0.05

#: method references (statistics, not clinical claims)
METHOD_REFERENCES: Final = (
    Reference(
        "AALEN-JOHANSEN",
        "Aalen OO, Johansen S",
        "An empirical transition matrix for non-homogeneous Markov chains based on censored "
        "observations",
        "Scand J Stat",
        1978,
        None,
        "Scand J Stat 1978;5(3):141-150",
    ),
    Reference(
        "LIFELINES",
        "Davidson-Pilon C",
        "lifelines: survival analysis in Python",
        "J Open Source Softw",
        2019,
        "10.21105/joss.01317",
        "J Open Source Softw 2019;4(40):1317 (AalenJohansenFitter; intervals by the delta "
        "method on log(-log), after Collett, Modelling Survival Data in Medical Research)",
    ),
)


@dataclass(frozen=True, slots=True)
class CumulativeIncidence:
    """Aalen-Johansen estimate of one stratum: step function of days after infusion."""

    times: FloatArray  # event-table times in days (with the within-day offsets)
    estimate: FloatArray
    lower: FloatArray
    upper: FloatArray
    last_day: float  # the longest follow-up in the stratum
    complete: bool  # every patient had an event: the estimate is final after last_day
    durations: FloatArray  # per patient (days, without the censoring offset)

    def at(self, day: float) -> tuple[float | None, float | None, float | None]:
        """Estimate and interval at the end of ``day``; ``None`` beyond the follow-up."""
        if day > self.last_day and not self.complete:
            return None, None, None
        t = day + CENSOR_OFFSET_DAYS
        i = int(np.searchsorted(self.times, t, side="right")) - 1
        if i < 0:
            return 0.0, None, None

        def clean(v: float) -> float | None:
            return None if math.isnan(v) else float(v)

        return clean(self.estimate[i]), clean(self.lower[i]), clean(self.upper[i])

    def at_risk(self, day: float) -> int:
        """Patients still under observation without an event at the start of ``day``."""
        return int((self.durations >= day).sum())


def aalen_johansen(times: FloatArray, events: IntArray) -> CumulativeIncidence:
    """Cumulative incidence of event 1 with every other non-zero event competing.

    lifelines ``AalenJohansenFitter`` (Aalen and Johansen 1978) on whole-day times: within a
    day, competing events are placed ``COMPETING_OFFSET_DAYS`` and censoring
    ``CENSOR_OFFSET_DAYS`` after the events of interest (see the constants), so no tie jitter is
    needed; should lifelines jitter anyway, its seed is fixed and the global NumPy random state
    is restored afterwards. Intervals: lifelines' delta method on log(-log).
    """
    if times.size == 0:
        raise ValueError("no patients to estimate from")
    offsets = np.where(events == RECOVERY, 0.0, COMPETING_OFFSET_DAYS)
    durations = TIME_SHIFT_DAYS + times + np.where(events == CENSORED, CENSOR_OFFSET_DAYS, offsets)
    fitter = AalenJohansenFitter(seed=AJ_JITTER_SEED, alpha=CI_ALPHA, calculate_variance=True)
    state = np.random.get_state()
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            # one code for every competing kind: AJ treats them alike, and same-day deaths
            # and progressions would otherwise count as ties of different kinds
            kinds = np.where(events == RECOVERY, RECOVERY, np.where(events == CENSORED, 0, 2))
            fitter.fit(durations, kinds, event_of_interest=RECOVERY)
    finally:
        np.random.set_state(state)
    density = fitter.cumulative_density_
    index = density.index.to_numpy(dtype=np.float64) - TIME_SHIFT_DAYS
    estimate = density.iloc[:, 0].to_numpy(dtype=np.float64)
    bounds = fitter.confidence_interval_.to_numpy(dtype=np.float64)
    with np.errstate(all="ignore"):
        lower = np.fmin(bounds[:, 0], bounds[:, 1])
        upper = np.fmax(bounds[:, 0], bounds[:, 1])
    last_day = float(times.max())
    complete = bool((events[times == last_day] != CENSORED).all())
    return CumulativeIncidence(index, estimate, lower, upper, last_day, complete, times)
