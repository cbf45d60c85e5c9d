//! Matomo's brute-force detection (`plugins/Login/Security/BruteForceDetection.php`, hooked in
//! `plugins/Login/Login.php`): every failed authentication (a wrong `token_auth` on the Reporting
//! API or on a tracking request) is recorded for the client's IP; an IP with
//! `brute_force.max_failed_logins` failures within `brute_force.window_secs` is blocked until its
//! oldest failure leaves the window. As in Matomo:
//! - a blocked IP gets "You are currently not allowed to log in because you had too many failed
//!   logins, try again later." on every Reporting API request, even with a valid token
//!   (`Login::beforeLoginCheckBruteForce` runs before authentication);
//! - failures are recorded only while the IP is not blocked, so a blocked IP is released on time
//!   however long it keeps trying;
//! - the defaults are Matomo's system settings: 20 failures in 60 minutes.
//!
//! Where we differ: the log lives in this process's memory, not in a `brute_force_log` table, so a
//! failed guess costs no database write (a write per guess would itself be an attack surface) and
//! two origins on one PostgreSQL count separately. A restart forgets it. At most
//! [`MAX_TRACKED_IPS`] addresses are remembered: beyond that, addresses whose failures have all
//! left the window are forgotten first, then the one seen longest ago.
//! A tracking request from a blocked IP is still tracked, but its `token_auth` is not checked:
//! it counts as a request without a token.

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Addresses remembered at most (each costs about 100 bytes plus 16 per failure).
pub const MAX_TRACKED_IPS: usize = 100_000;

/// Matomo's `Login_LoginNotAllowedBecauseBlocked`.
pub const BLOCKED_MESSAGE: &str =
    "You are currently not allowed to log in because you had too many failed logins, try again later.";

/// Failed authentications per client IP within a sliding window.
#[derive(Debug)]
pub struct BruteForce {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl BruteForce {
    /// `max_failures` 0 turns the detection off.
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `ip` may not authenticate now.
    pub fn is_blocked(&self, ip: IpAddr) -> bool {
        self.is_blocked_at(ip, Instant::now())
    }

    /// Records a failed authentication from `ip` (ignored while it is blocked, as Matomo does).
    pub fn record_failure(&self, ip: IpAddr) {
        self.record_failure_at(ip, Instant::now());
    }

    fn is_blocked_at(&self, ip: IpAddr, now: Instant) -> bool {
        if self.max_failures == 0 {
            return false;
        }
        let mut failures = self.lock();
        let Some(times) = failures.get_mut(&ip) else {
            return false;
        };
        self.expire(times, now);
        times.len() >= self.max_failures
    }

    fn record_failure_at(&self, ip: IpAddr, now: Instant) {
        if self.max_failures == 0 || self.is_blocked_at(ip, now) {
            return;
        }
        let mut failures = self.lock();
        if failures.len() >= MAX_TRACKED_IPS && !failures.contains_key(&ip) {
            failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|last| now.duration_since(*last) < self.window)
            });
            if failures.len() >= MAX_TRACKED_IPS {
                let oldest = failures
                    .iter()
                    .min_by_key(|(_, times)| times.back().copied())
                    .map(|(ip, _)| *ip);
                if let Some(oldest) = oldest {
                    failures.remove(&oldest);
                }
            }
        }
        failures.entry(ip).or_default().push_back(now);
    }

    fn expire(&self, times: &mut VecDeque<Instant>, now: Instant) {
        while times
            .front()
            .is_some_and(|first| now.duration_since(*first) >= self.window)
        {
            times.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, VecDeque<Instant>>> {
        // The map stays consistent even if a holder panicked: every change is one call.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7));
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 8));

    #[test]
    fn an_ip_is_blocked_at_the_limit_and_released_when_its_failures_age_out() {
        let guard = BruteForce::new(3, Duration::from_secs(60));
        let start = Instant::now();
        for i in 0..2 {
            guard.record_failure_at(IP, start + Duration::from_secs(i));
        }
        assert!(!guard.is_blocked_at(IP, start + Duration::from_secs(2)));
        guard.record_failure_at(IP, start + Duration::from_secs(2));
        assert!(guard.is_blocked_at(IP, start + Duration::from_secs(3)));
        assert!(!guard.is_blocked_at(OTHER, start + Duration::from_secs(3)));
        // Tries while blocked are not recorded, so the block ends when the first failure ages out.
        for i in 3..50 {
            guard.record_failure_at(IP, start + Duration::from_secs(i));
        }
        assert!(guard.is_blocked_at(IP, start + Duration::from_secs(59)));
        assert!(!guard.is_blocked_at(IP, start + Duration::from_secs(60)));
    }

    #[test]
    fn zero_failures_turns_detection_off() {
        let guard = BruteForce::new(0, Duration::from_secs(60));
        for _ in 0..100 {
            guard.record_failure(IP);
        }
        assert!(!guard.is_blocked(IP));
    }

    #[test]
    fn the_map_never_grows_beyond_its_cap() {
        let guard = BruteForce::new(5, Duration::from_secs(60));
        let start = Instant::now();
        for i in 0..(MAX_TRACKED_IPS as u32 + 10) {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(i));
            guard.record_failure_at(ip, start);
        }
        assert_eq!(guard.lock().len(), MAX_TRACKED_IPS);
    }
}
