//! When automatic syncs run: 08:00, 13:00 and 23:00 in the account region's time zone,
//! whatever the customer's own zone (SPEC "Schedule").
//!
//! The zones, with their current rules implemented here rather than pulled from a tz
//! database (four fixed zones do not justify a new dependency, and the rules are short):
//!
//! | region | zone | offset | daylight saving |
//! |---|---|---|---|
//! | Europe | GMT | UTC+0 | none: SPEC says GMT, read literally (no British Summer Time) |
//! | North America | US Eastern | UTC−5 (EST) | UTC−4 (EDT) from the second Sunday of March 02:00 local to the first Sunday of November 02:00 local (US rule since 2007) |
//! | South Africa | SAST | UTC+2 | none |
//! | Australia | Sydney | UTC+10 (AEST) | UTC+11 (AEDT) from the first Sunday of October 02:00 local to the first Sunday of April 03:00 local (NSW rule since 2008) |
//!
//! Sydney is chosen for Australia because it is the largest city and the usual home
//! of Australian data centres; Canberra, Melbourne and Hobart keep the same time.
//! Older rules are not modelled: a schedule is about now and later.
//!
//! None of 08:00, 13:00 or 23:00 falls in a DST gap or overlap in these zones (those
//! are 02:00–03:00), so each run has exactly one instant. The conversion still handles
//! gaps and overlaps for any other local time, the way most schedulers do: a time
//! skipped by a gap runs an hour later; a repeated time runs at its first occurrence.
//!
//! Time comes from a [`Clock`], so tests jump it with a [`ManualClock`].

use std::sync::{Mutex, PoisonError};

use time::macros::offset;
use time::{
    Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcDateTime, UtcOffset,
};

use engine_contract::settings::Region;

/// Local times of day at which automatic syncs run, as (hour, minute).
pub const RUN_TIMES: [(u8, u8); 3] = [(8, 0), (13, 0), (23, 0)];

/// A source of the current time.
pub trait Clock {
    /// Now.
    fn now(&self) -> OffsetDateTime;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to; shareable (`&ManualClock` and `Arc` are clocks
/// too) so a test can keep a handle while a [`Scheduler`] reads it.
#[derive(Debug)]
pub struct ManualClock {
    /// The time `now` returns; a std `Mutex` since it is held only to copy a value.
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock by `by` (backwards if negative).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.saturating_add(by);
    }

    /// Puts the clock at `to`.
    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
}

const EST: UtcOffset = offset!(-5);
const EDT: UtcOffset = offset!(-4);
const SAST: UtcOffset = offset!(+2);
const AEST: UtcOffset = offset!(+10);
const AEDT: UtcOffset = offset!(+11);

/// The `nth` (1-based) Sunday of a month.
fn nth_sunday(year: i32, month: Month, nth: u8) -> Option<Date> {
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    let to_sunday = (7 - first.weekday().number_days_from_sunday()) % 7;
    let day = 1 + to_sunday + 7 * (nth - 1);
    Date::from_calendar_date(year, month, day).ok()
}

/// The instant a local wall-clock time under `offset` happens.
fn instant(date: Date, hour: u8, offset: UtcOffset) -> Option<UtcDateTime> {
    let time = Time::from_hms(hour, 0, 0).ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_offset(offset)
            .to_utc(),
    )
}

/// Daylight saving as (starts, ends) in UTC for the DST period that begins in `year`.
fn daylight_saving(region: Region, year: i32) -> Option<(UtcDateTime, UtcDateTime)> {
    match region {
        Region::NorthAmerica => Some((
            instant(nth_sunday(year, Month::March, 2)?, 2, EST)?,
            instant(nth_sunday(year, Month::November, 1)?, 2, EDT)?,
        )),
        Region::Australia => Some((
            instant(nth_sunday(year, Month::October, 1)?, 2, AEST)?,
            instant(nth_sunday(year + 1, Month::April, 1)?, 3, AEDT)?,
        )),
        Region::Europe | Region::SouthAfrica => None,
    }
}

/// The region's standard and daylight offsets.
fn offsets(region: Region) -> (UtcOffset, UtcOffset) {
    match region {
        Region::Europe => (UtcOffset::UTC, UtcOffset::UTC),
        Region::NorthAmerica => (EST, EDT),
        Region::SouthAfrica => (SAST, SAST),
        Region::Australia => (AEST, AEDT),
    }
}

/// Whether daylight saving is in force at `at` in the region.
fn is_daylight(region: Region, at: UtcDateTime) -> bool {
    // The period in force began in this UTC year or the one before (Sydney's spans the
    // new year).
    [at.year(), at.year() - 1].into_iter().any(|year| {
        daylight_saving(region, year).is_some_and(|(starts, ends)| starts <= at && at < ends)
    })
}

/// The region's offset from UTC at `at`.
pub fn utc_offset(region: Region, at: UtcDateTime) -> UtcOffset {
    let (standard, daylight) = offsets(region);
    if is_daylight(region, at) {
        daylight
    } else {
        standard
    }
}

/// The zone's abbreviation at `at`, for reports (`GMT`, `EST`/`EDT`, `SAST`,
/// `AEST`/`AEDT`).
pub fn zone_name(region: Region, at: UtcDateTime) -> &'static str {
    match (region, is_daylight(region, at)) {
        (Region::Europe, _) => "GMT",
        (Region::NorthAmerica, false) => "EST",
        (Region::NorthAmerica, true) => "EDT",
        (Region::SouthAfrica, _) => "SAST",
        (Region::Australia, false) => "AEST",
        (Region::Australia, true) => "AEDT",
    }
}

/// The instant a local date and time happens in the region (see the module docs for
/// gaps and overlaps).
pub fn local_to_utc(region: Region, date: Date, time: Time) -> UtcDateTime {
    let (standard, daylight) = offsets(region);
    let local = PrimitiveDateTime::new(date, time);
    // Daylight first: in an overlap its reading is the earlier instant.
    let candidates =
        [daylight, standard].map(|offset| (offset, local.assume_offset(offset).to_utc()));
    candidates
        .iter()
        .find(|(offset, at)| utc_offset(region, *at) == *offset)
        .map_or(candidates[1].1, |(_, at)| *at)
}

/// The first scheduled run strictly after `after`.
pub fn next_run(region: Region, after: UtcDateTime) -> UtcDateTime {
    let local_today = after.to_offset(utc_offset(region, after)).date();
    // Start a day early so that a run whose local date is "yesterday" in one offset and
    // "today" in the other is not missed on a DST change day.
    let mut date = local_today.previous_day().unwrap_or(local_today);
    loop {
        for (hour, minute) in RUN_TIMES {
            let Ok(time) = Time::from_hms(hour, minute, 0) else {
                continue;
            };
            let run = local_to_utc(region, date, time);
            if run > after {
                return run;
            }
        }
        match date.next_day() {
            Some(next) => date = next,
            None => return UtcDateTime::MAX,
        }
    }
}

/// Every scheduled run in `(from, to]`: exclusive of `from`, inclusive of `to`, so that
/// consecutive windows neither miss nor repeat a run.
pub fn runs_between(region: Region, from: UtcDateTime, to: UtcDateTime) -> Vec<UtcDateTime> {
    let mut runs = Vec::new();
    let mut at = from;
    loop {
        let run = next_run(region, at);
        if run > to || run == at {
            return runs;
        }
        runs.push(run);
        at = run;
    }
}

/// Tells a caller which scheduled runs have come due since it last asked.
#[derive(Debug)]
pub struct Scheduler<C> {
    /// Whose time zone the schedule follows.
    region: Region,
    /// Where "now" comes from.
    clock: C,
    /// Runs at or before this have been handed out; never moves backwards, so a clock
    /// set back does not hand out the same runs twice.
    checked_until: UtcDateTime,
}

impl<C: Clock> Scheduler<C> {
    /// A scheduler whose first due run is the first one after the clock's current time.
    pub fn new(region: Region, clock: C) -> Self {
        let checked_until = clock.now().to_utc();
        Self {
            region,
            clock,
            checked_until,
        }
    }

    /// The runs that came due since the last call, oldest first. After a long pause
    /// there may be several; a caller that only needs the directory's current state
    /// runs one sync for all of them.
    pub fn due(&mut self) -> Vec<UtcDateTime> {
        let now = self.clock.now().to_utc();
        if now <= self.checked_until {
            return Vec::new();
        }
        let runs = runs_between(self.region, self.checked_until, now);
        self.checked_until = now;
        runs
    }

    /// The next run that has not come due yet.
    pub fn next(&self) -> UtcDateTime {
        next_run(
            self.region,
            self.checked_until.max(self.clock.now().to_utc()),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use time::macros::{date, datetime, utc_datetime};

    use super::*;

    /// The three runs of one local day, as UTC.
    fn day(region: Region, local: Date) -> Vec<UtcDateTime> {
        let start = local_to_utc(region, local, Time::MIDNIGHT);
        runs_between(region, start, start + Duration::DAY)
    }

    #[test]
    fn europe_is_gmt_all_year() {
        for local in [date!(2025 - 01 - 15), date!(2025 - 07 - 15)] {
            assert_eq!(
                day(Region::Europe, local),
                [8, 13, 23].map(|h| local.with_hms(h, 0, 0).map(|t| t.as_utc()).expect("time"))
            );
        }
        assert_eq!(
            zone_name(Region::Europe, utc_datetime!(2025-07-15 0:00)),
            "GMT"
        );
    }

    #[test]
    fn south_africa_is_utc_plus_two() {
        assert_eq!(
            day(Region::SouthAfrica, date!(2025 - 06 - 01)),
            [
                utc_datetime!(2025-06-01 6:00),
                utc_datetime!(2025-06-01 11:00),
                utc_datetime!(2025-06-01 21:00)
            ]
        );
    }

    #[test]
    fn north_america_across_the_march_change() {
        let na = Region::NorthAmerica;
        assert_eq!(
            day(na, date!(2025 - 03 - 08)),
            [
                utc_datetime!(2025-03-08 13:00),
                utc_datetime!(2025-03-08 18:00),
                utc_datetime!(2025-03-09 4:00)
            ]
        );
        // Sunday 9 March 2025, the second Sunday: clocks go 02:00 EST -> 03:00 EDT.
        assert_eq!(
            day(na, date!(2025 - 03 - 09)),
            [
                utc_datetime!(2025-03-09 12:00),
                utc_datetime!(2025-03-09 17:00),
                utc_datetime!(2025-03-10 3:00)
            ]
        );
        assert_eq!(utc_offset(na, utc_datetime!(2025-03-09 6:59:59)), EST);
        assert_eq!(utc_offset(na, utc_datetime!(2025-03-09 7:00)), EDT);
        assert_eq!(
            next_run(na, utc_datetime!(2025-03-09 4:00)),
            utc_datetime!(2025-03-09 12:00),
            "eight hours from 23:00 EST to 08:00 EDT"
        );
    }

    #[test]
    fn north_america_across_the_november_change() {
        let na = Region::NorthAmerica;
        // Sunday 2 November 2025: clocks go 02:00 EDT -> 01:00 EST.
        assert_eq!(
            runs_between(
                na,
                utc_datetime!(2025-11-01 12:00),
                utc_datetime!(2025-11-02 13:00)
            ),
            [
                utc_datetime!(2025-11-01 17:00),
                utc_datetime!(2025-11-02 3:00),
                utc_datetime!(2025-11-02 13:00)
            ]
        );
        assert_eq!(utc_offset(na, utc_datetime!(2025-11-02 5:59:59)), EDT);
        assert_eq!(utc_offset(na, utc_datetime!(2025-11-02 6:00)), EST);
        assert_eq!(zone_name(na, utc_datetime!(2025-11-02 6:00)), "EST");
    }

    #[test]
    fn sydney_across_the_october_change() {
        let au = Region::Australia;
        // Sunday 5 October 2025: clocks go 02:00 AEST -> 03:00 AEDT.
        assert_eq!(
            day(au, date!(2025 - 10 - 04)),
            [
                utc_datetime!(2025-10-03 22:00),
                utc_datetime!(2025-10-04 3:00),
                utc_datetime!(2025-10-04 13:00)
            ]
        );
        assert_eq!(
            day(au, date!(2025 - 10 - 05)),
            [
                utc_datetime!(2025-10-04 21:00),
                utc_datetime!(2025-10-05 2:00),
                utc_datetime!(2025-10-05 12:00)
            ]
        );
        assert_eq!(utc_offset(au, utc_datetime!(2025-10-04 15:59:59)), AEST);
        assert_eq!(utc_offset(au, utc_datetime!(2025-10-04 16:00)), AEDT);
    }

    #[test]
    fn sydney_across_the_april_change_and_the_new_year() {
        let au = Region::Australia;
        // Sunday 6 April 2025: clocks go 03:00 AEDT -> 02:00 AEST.
        assert_eq!(
            day(au, date!(2025 - 04 - 06)),
            [
                utc_datetime!(2025-04-05 22:00),
                utc_datetime!(2025-04-06 3:00),
                utc_datetime!(2025-04-06 13:00)
            ]
        );
        assert_eq!(utc_offset(au, utc_datetime!(2025-04-05 15:59:59)), AEDT);
        assert_eq!(utc_offset(au, utc_datetime!(2025-04-05 16:00)), AEST);
        // Summer spans the UTC new year.
        assert_eq!(
            next_run(au, utc_datetime!(2025-12-31 12:00)),
            utc_datetime!(2025-12-31 21:00)
        );
        assert_eq!(zone_name(au, utc_datetime!(2026-01-01 0:00)), "AEDT");
    }

    #[test]
    fn next_run_is_strictly_after() {
        let at_eight = utc_datetime!(2025-06-01 8:00);
        assert_eq!(
            next_run(Region::Europe, at_eight),
            utc_datetime!(2025-06-01 13:00)
        );
        assert_eq!(
            next_run(Region::Europe, at_eight - Duration::SECOND),
            at_eight
        );
    }

    #[test]
    fn gaps_run_late_and_overlaps_run_first() {
        let na = Region::NorthAmerica;
        let half_past_two = Time::from_hms(2, 30, 0).expect("time");
        assert_eq!(
            local_to_utc(na, date!(2025 - 03 - 09), half_past_two),
            utc_datetime!(2025-03-09 7:30),
            "02:30 does not exist that day; it runs as 03:30 EDT"
        );
        let half_past_one = Time::from_hms(1, 30, 0).expect("time");
        assert_eq!(
            local_to_utc(na, date!(2025 - 11 - 02), half_past_one),
            utc_datetime!(2025-11-02 5:30),
            "01:30 happens twice that day; the EDT one comes first"
        );
    }

    /// Transitions, in UTC, from Python's zoneinfo (IANA tz database): US Eastern
    /// start and end, then Sydney end (April) and start (October), as (month, day, hour).
    /// (month, day, hour) in UTC.
    type Transition = (u8, u8, u8);

    const TZDB: [(i32, [Transition; 4]); 33] = [
        (2008, [(3, 9, 7), (11, 2, 6), (4, 5, 16), (10, 4, 16)]),
        (2009, [(3, 8, 7), (11, 1, 6), (4, 4, 16), (10, 3, 16)]),
        (2010, [(3, 14, 7), (11, 7, 6), (4, 3, 16), (10, 2, 16)]),
        (2011, [(3, 13, 7), (11, 6, 6), (4, 2, 16), (10, 1, 16)]),
        (2012, [(3, 11, 7), (11, 4, 6), (3, 31, 16), (10, 6, 16)]),
        (2013, [(3, 10, 7), (11, 3, 6), (4, 6, 16), (10, 5, 16)]),
        (2014, [(3, 9, 7), (11, 2, 6), (4, 5, 16), (10, 4, 16)]),
        (2015, [(3, 8, 7), (11, 1, 6), (4, 4, 16), (10, 3, 16)]),
        (2016, [(3, 13, 7), (11, 6, 6), (4, 2, 16), (10, 1, 16)]),
        (2017, [(3, 12, 7), (11, 5, 6), (4, 1, 16), (9, 30, 16)]),
        (2018, [(3, 11, 7), (11, 4, 6), (3, 31, 16), (10, 6, 16)]),
        (2019, [(3, 10, 7), (11, 3, 6), (4, 6, 16), (10, 5, 16)]),
        (2020, [(3, 8, 7), (11, 1, 6), (4, 4, 16), (10, 3, 16)]),
        (2021, [(3, 14, 7), (11, 7, 6), (4, 3, 16), (10, 2, 16)]),
        (2022, [(3, 13, 7), (11, 6, 6), (4, 2, 16), (10, 1, 16)]),
        (2023, [(3, 12, 7), (11, 5, 6), (4, 1, 16), (9, 30, 16)]),
        (2024, [(3, 10, 7), (11, 3, 6), (4, 6, 16), (10, 5, 16)]),
        (2025, [(3, 9, 7), (11, 2, 6), (4, 5, 16), (10, 4, 16)]),
        (2026, [(3, 8, 7), (11, 1, 6), (4, 4, 16), (10, 3, 16)]),
        (2027, [(3, 14, 7), (11, 7, 6), (4, 3, 16), (10, 2, 16)]),
        (2028, [(3, 12, 7), (11, 5, 6), (4, 1, 16), (9, 30, 16)]),
        (2029, [(3, 11, 7), (11, 4, 6), (3, 31, 16), (10, 6, 16)]),
        (2030, [(3, 10, 7), (11, 3, 6), (4, 6, 16), (10, 5, 16)]),
        (2031, [(3, 9, 7), (11, 2, 6), (4, 5, 16), (10, 4, 16)]),
        (2032, [(3, 14, 7), (11, 7, 6), (4, 3, 16), (10, 2, 16)]),
        (2033, [(3, 13, 7), (11, 6, 6), (4, 2, 16), (10, 1, 16)]),
        (2034, [(3, 12, 7), (11, 5, 6), (4, 1, 16), (9, 30, 16)]),
        (2035, [(3, 11, 7), (11, 4, 6), (3, 31, 16), (10, 6, 16)]),
        (2036, [(3, 9, 7), (11, 2, 6), (4, 5, 16), (10, 4, 16)]),
        (2037, [(3, 8, 7), (11, 1, 6), (4, 4, 16), (10, 3, 16)]),
        (2038, [(3, 14, 7), (11, 7, 6), (4, 3, 16), (10, 2, 16)]),
        (2039, [(3, 13, 7), (11, 6, 6), (4, 2, 16), (10, 1, 16)]),
        (2040, [(3, 11, 7), (11, 4, 6), (3, 31, 16), (10, 6, 16)]),
    ];

    #[test]
    fn transitions_match_the_tz_database_for_three_decades() {
        let at = |year: i32, (month, day, hour): (u8, u8, u8)| {
            let month = Month::try_from(month).expect("month");
            Date::from_calendar_date(year, month, day)
                .and_then(|date| date.with_hms(hour, 0, 0))
                .expect("date")
                .as_utc()
        };
        for (year, [us_start, us_end, sydney_end, sydney_start]) in TZDB {
            for (region, instant, before, after) in [
                (Region::NorthAmerica, at(year, us_start), EST, EDT),
                (Region::NorthAmerica, at(year, us_end), EDT, EST),
                (Region::Australia, at(year, sydney_end), AEDT, AEST),
                (Region::Australia, at(year, sydney_start), AEST, AEDT),
            ] {
                assert_eq!(
                    utc_offset(region, instant - Duration::SECOND),
                    before,
                    "{region:?} {instant}"
                );
                assert_eq!(utc_offset(region, instant), after, "{region:?} {instant}");
            }
        }
    }

    #[test]
    fn the_scheduler_hands_out_each_run_once_on_a_manual_clock() {
        let clock = Arc::new(ManualClock::new(datetime!(2025-01-01 0:00 UTC)));
        let mut scheduler = Scheduler::new(Region::Europe, Arc::clone(&clock));
        assert!(scheduler.due().is_empty());
        assert_eq!(scheduler.next(), utc_datetime!(2025-01-01 8:00));

        clock.advance(Duration::hours(8));
        assert_eq!(scheduler.due(), [utc_datetime!(2025-01-01 8:00)]);
        assert!(scheduler.due().is_empty());

        clock.advance(Duration::days(1));
        assert_eq!(
            scheduler.due(),
            [
                utc_datetime!(2025-01-01 13:00),
                utc_datetime!(2025-01-01 23:00),
                utc_datetime!(2025-01-02 8:00)
            ]
        );

        clock.advance(-Duration::days(1));
        assert!(
            scheduler.due().is_empty(),
            "a clock set back repeats nothing"
        );
        assert_eq!(scheduler.next(), utc_datetime!(2025-01-02 13:00));
    }

    #[test]
    fn the_customers_own_zone_does_not_matter() {
        // A clock reading in Tokyo time still schedules by the region.
        let tokyo = datetime!(2025-06-01 16:59 +09:00);
        let clock = ManualClock::new(tokyo);
        let scheduler = Scheduler::new(Region::Europe, &clock);
        assert_eq!(scheduler.next(), utc_datetime!(2025-06-01 8:00));
    }
}
